"""The supervised tasks ``midfield demo`` hands out through the tasks API, as the office and the
departments would: one overdue, one near its deadline, one on track, and one department
overstepping (refused with 403, and audited).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from midfield.demo.directory import demo_key
from midfield.demo.feed import post

__all__ = ["hand_out_tasks"]


def _post(url: str, body: dict[str, Any], key: str) -> int:
    return post(url, json.dumps(body).encode(), {"Authorization": f"Bearer {key}"})


def hand_out_tasks(api: str, now: datetime) -> int:
    """Three tasks through the tasks API, as the office and the departments would."""
    office = demo_key("office")
    tasks = [
        ("DC-2025-001", "汛前病险水库除险加固", "water", ("housing",), -3, 30),
        ("DC-2025-002", "乡镇卫生院能力提升", "health", (), 2, 60),
        ("DC-2025-003", "城区学校扩容工程", "edu", ("housing",), 90, 20),
    ]
    for task_id, title, lead, assisting, days, percent in tasks:
        deadline = (now.date() + timedelta(days=days)).isoformat()
        _post(
            f"{api}/tasks",
            {
                "task_id": task_id,
                "title": title,
                "deadline": deadline,
                "lead_department": lead,
                "assisting_departments": assisting,
                "focus": days < 0,
            },
            office,
        )
        _post(f"{api}/tasks/{task_id}/assign", {"instruction": "请按期办结"}, office)
        key = demo_key(lead)
        _post(f"{api}/tasks/{task_id}/sign", {"person": "值班员"}, key)
        _post(f"{api}/tasks/{task_id}/progress", {"percent": percent, "text": "按计划推进"}, key)
    # a department reporting on a task that is not its own: 403, audited
    _post(
        f"{api}/tasks/DC-2025-002/progress",
        {"percent": 99, "text": "x"},
        demo_key("edu"),
    )
    return len(tasks)
