"""New processor code for the shadow test (``midfield replay shadow --module``): a yellow window
of 7 days instead of the configured one, so tasks 4 to 7 days from their deadline turn yellow."""

from __future__ import annotations

from midfield.settings import Settings, SupervisionSettings


def configure(settings: Settings) -> None:
    settings.supervision = SupervisionSettings(warning_days=7)
