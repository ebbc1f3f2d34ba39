"""Access control's pure parts: policies, passwords, sessions, the throttle, masking, the audit
book and its grouped alert; and that neither the worker nor an intake starts with a route that
declares no policy."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from connectors.runtime.guard import OPEN, allow, check_routes
from connectors.runtime.http import make_app
from connectors.runtime.intake import Intake
from connectors.sources.duty import DutyApi
from midfield.access import (
    ANONYMOUS,
    Policy,
    Principal,
    Role,
    Sessions,
    Throttle,
    constant_time_equal,
    hash_password,
    verify_password,
)
from midfield.departments import Directory, Person
from midfield.errors import ConfigError
from midfield.settings import KafkaSettings, Settings
from schemas.envelope import Envelope
from schemas.events.audit import Action, AuditRecorded, Outcome
from streams.books import audit
from streams.views import masking
from streams.views.pages import page
from streams.worker.access import check_policies
from streams.worker.app import create_app

ZONE = ZoneInfo("Asia/Shanghai")
CLERK = Principal("person:clerk", "clerk", frozenset({Role.department}), "edu")
DIRECTOR = Principal("person:boss", "boss", frozenset({Role.director}))


# -- policies and principals ---------------------------------------------------------------------
def test_a_policy_lets_in_only_its_roles_and_never_the_anonymous() -> None:
    policy = Policy.of(Role.director, Role.supervision)
    assert policy.allows(DIRECTOR) and not policy.allows(CLERK)
    assert not policy.allows(ANONYMOUS) and not Policy.authenticated().allows(ANONYMOUS)
    assert Policy.authenticated().allows(CLERK) and Policy.anyone().allows(ANONYMOUS)


def test_a_policy_must_name_a_role() -> None:
    with pytest.raises(ValueError):
        Policy.of()


def test_only_a_department_principal_without_office_roles_is_scoped() -> None:
    assert CLERK.scoped and not DIRECTOR.scoped
    both = Principal("system:x", "x", frozenset({Role.department, Role.supervision}), "edu")
    assert not both.scoped


@given(st.text(), st.binary())
def test_secrets_compare_on_any_input_without_raising(given_: str, expected: bytes) -> None:
    assert constant_time_equal(given_, expected) is (
        given_.encode("utf-8", "surrogateescape") == expected
    )


# -- passwords and sessions ----------------------------------------------------------------------
def test_a_password_verifies_against_its_hash_only() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "scrypt$1$1$1$x$y", "scrypt$16384$8$1$@@$@@", "scrypt$99999999999$8$1$AA==$AA=="],
)
def test_a_malformed_hash_is_a_refusal_not_an_error(stored: str) -> None:
    assert verify_password("anything", stored) is False


def test_a_person_without_a_real_hash_stops_the_directory() -> None:
    person = Person(login="li", name="李", roles=(Role.duty_officer,), password_hash="secret")  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as raised:
        Directory([], people=[person])
    assert raised.value.reason == "password-hash"


def test_a_department_person_needs_a_department_of_the_directory() -> None:
    person = Person(
        login="wang",
        name="王",
        roles=(Role.department,),
        department="edu",
        password_hash=hash_password("pw"),
    )  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        Directory([], people=[person])


def test_sign_in_answers_the_person_for_the_right_password_only() -> None:
    person = Person(
        login="li", name="李华", roles=(Role.duty_officer,), password_hash=hash_password("pw-li")
    )  # type: ignore[arg-type]
    directory = Directory([], people=[person])
    found = directory.sign_in("li", "pw-li")
    assert found is not None and found.id == "person:li" and found.roles == {Role.duty_officer}
    assert directory.sign_in("li", "wrong") is None and directory.sign_in("nobody", "pw-li") is None


def test_a_session_names_its_login_until_it_expires_or_ends() -> None:
    sessions = Sessions(Fernet.generate_key().decode(), ttl_s=3600)
    now = time.time()
    token = sessions.issue("li", now)
    assert sessions.login_of(token, now + 10) == "li"
    assert sessions.login_of(token, now + 3601) is None
    sessions.end(token, now + 20)
    assert sessions.login_of(token, now + 30) is None


def test_a_session_from_another_key_or_tampered_is_refused() -> None:
    ours, theirs = (Sessions(Fernet.generate_key().decode(), 3600) for _ in range(2))
    token = theirs.issue("director", time.time())
    assert ours.login_of(token, time.time()) is None
    assert ours.login_of(token[:-4] + "AAAA", time.time()) is None
    assert ours.login_of("中文\udcff", time.time()) is None


def test_a_bad_session_key_stops_the_worker_with_a_reason() -> None:
    with pytest.raises(ConfigError) as raised:
        Sessions("not-a-fernet-key", 3600)
    assert raised.value.reason == "session-key"


def test_the_throttle_blocks_after_its_attempts_until_the_window_passes() -> None:
    throttle = Throttle(attempts=3, window_s=60)
    for n in range(3):
        assert not throttle.blocked("a", 100 + n)
        throttle.failed("a", 100 + n)
    assert throttle.blocked("a", 110) and not throttle.blocked("b", 110)
    assert not throttle.blocked("a", 170)


def test_the_throttle_keeps_a_bounded_number_of_keys() -> None:
    throttle = Throttle(attempts=1, window_s=60, keys=100)
    for n in range(1000):
        throttle.failed(f"addr-{n}", 1.0)
    assert len(throttle._failures) <= 100


# -- masking -------------------------------------------------------------------------------------
def test_masking_hides_names_phone_and_id_numbers_but_keeps_the_rest() -> None:
    entry = {
        "person": "张伟",
        "phone": "0551-6234567",
        "content": (
            "张伟来电，手机13812345678，身份证340102199001011234，座机0551-6234567，东街水管爆裂"
        ),
    }
    masked = masking.duty_entry(entry)
    assert masked["person"] == "张*" and masked["phone"] == "055******67"
    text = masked["content"]
    assert "13812345678" not in text and "138****5678" in text
    assert "340102199001011234" not in text and "3401021990" not in text
    assert "6234567" not in text and "东街水管爆裂" in text
    assert entry["phone"] == "0551-6234567", "the book's own copy is untouched"


# -- the audit book ------------------------------------------------------------------------------
def _audit(outcome: Outcome, n: int, principal: str = "person:clerk") -> Envelope:
    event = AuditRecorded(
        principal=principal,
        service="worker",
        action=Action.read,
        method="GET",
        route="/audit",
        outcome=outcome,
        status=403 if outcome is Outcome.denied else 200,
        remote="10.0.0.9",
        at=datetime(2026, 12, 6, 1, 0, n % 60, tzinfo=UTC),
    )
    return Envelope.wrap(
        event,
        source="midfield://worker/t",
        position=f"{n}",
        subject=f"2026-12-06/{principal}",
        time=event.at,
    )


def test_denials_raise_one_alert_at_the_threshold_then_escalate_at_ten_times() -> None:
    book: dict[str, Any] | None = None
    raised = []
    for n in range(1, 120):
        out = audit.apply(book, _audit(Outcome.denied, n), alert_at=5)
        assert out is not None
        book = out.book
        if out.alert is not None:
            raised.append((n, out.alert.level, out.alert.alert_id))
    assert raised == [
        (5, 0, "security/denied/2026-12-06/person:clerk"),
        (50, 1, "security/denied/2026-12-06/person:clerk"),
    ]
    assert book is not None and book["denied"] == 119 and len(book["recent"]) == audit.RECENT


def test_an_audit_event_seen_before_changes_nothing() -> None:
    first = audit.apply(None, _audit(Outcome.allowed, 1), alert_at=5)
    assert first is not None
    assert audit.apply(first.book, _audit(Outcome.allowed, 1), alert_at=5) is None
    again = audit.apply(first.book, _audit(Outcome.allowed, 2), alert_at=5)
    assert again is not None and again.book["counts"] == {"read GET /audit allowed": 2}


def test_the_outcome_of_a_status() -> None:
    assert [Outcome.of(s) for s in (200, 303, 401, 403, 404, 429, 503)] == [
        Outcome.allowed,
        Outcome.allowed,
        Outcome.unauthenticated,
        Outcome.denied,
        Outcome.refused,
        Outcome.unauthenticated,
        Outcome.failed,
    ]


# -- deny by default: a route without a policy does not start ------------------------------------
def test_the_worker_refuses_a_route_without_a_policy() -> None:
    app = create_app(Settings(kafka=KafkaSettings(bootstrap_servers="127.0.0.1:1")))
    check_policies(app)  # as built: every route has one

    @app.page(f"/undeclared-{uuid.uuid4().hex[:6]}")
    async def undeclared(web_: Any, request: Any) -> Any:
        return web_.json({})

    with pytest.raises(ConfigError) as raised:
        check_policies(app)
    assert raised.value.reason == "route-policy" and "/undeclared-" in str(raised.value)


def test_a_worker_route_cannot_be_declared_twice() -> None:
    app = create_app(Settings(kafka=KafkaSettings(bootstrap_servers="127.0.0.1:1")))
    with pytest.raises(ConfigError):
        page(app, "/ledger", Policy.of(Role.director))


class _Undeclared(DutyApi):
    def routes(self, intake: Intake) -> list[web.RouteDef]:
        async def handler(request: web.Request) -> web.Response:
            return web.json_response({})

        return [*super().routes(intake), web.get("/leaky", handler)]


def test_an_intake_refuses_a_route_without_a_policy() -> None:
    source = _Undeclared(instance="t", zone=ZONE, directory=Directory([]))
    intake = Intake(source, KafkaSettings())
    with pytest.raises(ConfigError) as raised:
        make_app(source, intake, 1 << 16)
    assert "GET /leaky" in str(raised.value)


def test_an_intake_as_built_declares_every_route() -> None:
    source = DutyApi(instance="t", zone=ZONE, directory=Directory([]))
    app = make_app(source, Intake(source, KafkaSettings()), 1 << 16)
    check_routes(app)
    assert allow(OPEN, web.get("/x", lambda r: None)).handler.policy is OPEN  # type: ignore[attr-defined,arg-type,return-value]


# -- the command line ----------------------------------------------------------------------------
def test_hash_password_prints_a_hash_that_verifies_and_refuses_a_short_one() -> None:
    from click.testing import CliRunner

    from midfield.cli import cli

    runner = CliRunner()
    done = runner.invoke(cli, ["access", "hash-password", "--stdin"], input="a long passphrase\n")
    assert done.exit_code == 0 and verify_password("a long passphrase", done.output.strip())
    short = runner.invoke(cli, ["access", "hash-password", "--stdin"], input="short\n")
    assert short.exit_code == 2 and "12 characters" in short.output


def test_access_check_lists_who_may_read_without_keys_or_hashes(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from midfield.cli import cli
    from tests.harness import people_file

    directory = people_file(
        tmp_path / "d.toml",
        {"li": (("duty-officer",), None, "pw-li-long")},
        {"edu": "edu-key-1234567890"},
    )
    done = CliRunner().invoke(
        cli,
        ["access", "check"],
        env={
            "MIDFIELD_DEPARTMENTS_FILE": str(directory),
            "MIDFIELD_DEPARTMENTS_MIN_KEY_LENGTH": "1",
        },
    )
    assert done.exit_code == 0, done.output
    assert "person:li" in done.output and "duty-officer" in done.output
    assert "department:edu" in done.output
    assert "edu-key-1234567890" not in done.output and "scrypt$" not in done.output


def test_a_short_api_key_stops_the_directory_naming_whose_it_is(tmp_path: Any) -> None:
    """Issue 18, finding 10: any key was accepted, "k" included."""
    from midfield.departments import load_directory
    from midfield.settings import DepartmentSettings
    from tests.harness import departments_file

    weak = departments_file(tmp_path / "weak.toml", {"edu": "edu-key"})
    with pytest.raises(ConfigError) as raised:
        load_directory(DepartmentSettings(file=weak))
    assert raised.value.reason == "weak-key" and "department edu" in str(raised.value)
    assert "edu-key" not in str(raised.value).replace("department edu", "")
    strong = departments_file(tmp_path / "strong.toml", {"edu": "e" * 24})
    strong.write_text(strong.read_text().replace('"office-key"', '"' + "o" * 24 + '"'))
    assert load_directory(DepartmentSettings(file=strong)).principal("e" * 24) == "edu"
