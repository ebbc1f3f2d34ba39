"""The suggestion model: naive Bayes learned and unlearned one example at a time, suggesting the
top departments with probabilities and the words that decided."""

from __future__ import annotations

import json
import re

import pytest

from streams.books.suggest.model import FEATURES, SuggestModel

EXAMPLES = [
    ("锦绣花园的电梯坏了，物业不管", "housing"),
    ("阳光小区物业乱收费，电梯经常停运", "housing"),
    ("孩子上小学，学区怎么划分", "edu"),
    ("实验小学老师有偿补课", "edu"),
    ("东风路的路灯不亮，垃圾没人清运", "urban"),
    ("人民路占道经营严重，路灯坏了", "urban"),
]


def _taught(examples: list[tuple[str, str]] = EXAMPLES) -> SuggestModel:
    model = SuggestModel()
    for text, department in examples:
        model.learn(text, department)
    return model


def test_a_message_like_the_examples_of_a_department_suggests_it_first() -> None:
    first = _taught().suggest("我们小区电梯又坏了，物业也不来修")[0]
    assert first.department == "housing"


def test_suggest_answers_k_departments_best_first_with_scores_that_add_up_to_one() -> None:
    model = _taught()
    found = model.suggest("学区划分的事", k=3)
    assert len(found) == 3
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    everyone = model.suggest("学区划分的事", k=10)
    assert len(everyone) == 3 and sum(s.score for s in everyone) == pytest.approx(1.0)


def test_the_deciding_words_are_words_of_the_message_seen_with_that_department() -> None:
    first = _taught().suggest("学区怎么划分，孩子要上小学了")[0]
    assert first.department == "edu"
    assert "学区" in first.words and "划分" in first.words
    assert all(word in "学区怎么划分，孩子要上小学了" for word in first.words)


def test_a_department_that_never_saw_the_words_is_given_none_as_deciding() -> None:
    found = {s.department: s.words for s in _taught().suggest("学区怎么划分", k=3)}
    assert found["housing"] == []


def test_ties_go_to_the_department_that_sorts_first() -> None:
    model = _taught([("同样的话", "water"), ("同样的话", "agri")])
    assert [s.department for s in model.suggest("同样的话")] == ["agri", "water"]


def test_an_empty_model_suggests_nothing() -> None:
    assert SuggestModel().suggest("电梯坏了") == []


def test_excluded_departments_are_not_suggested_and_the_rest_add_up_to_one() -> None:
    found = _taught().suggest("电梯坏了", k=5, exclude=["housing"])
    assert "housing" not in [s.department for s in found]
    assert sum(s.score for s in found) == pytest.approx(1.0)


def test_unlearning_an_example_gives_back_the_counts_before_it() -> None:
    model = _taught()
    before = json.dumps(model.state())
    model.learn("小区燃气管道漏气", "urban")
    model.unlearn("小区燃气管道漏气", "urban")
    assert json.dumps(model.state()) == before


def test_unlearning_the_last_example_of_a_department_removes_it() -> None:
    model = _taught([("电梯坏了", "housing"), ("学区划分", "edu")])
    model.unlearn("学区划分", "edu")
    assert model.departments == ["housing"]
    assert not any("edu" in by for by in model.counts.values())


def test_unlearning_what_was_never_learned_is_refused_and_changes_nothing() -> None:
    model = _taught()
    before = json.dumps(model.state())
    with pytest.raises(ValueError, match="no example"):
        model.unlearn("医保报销比例太低", "housing")
    assert json.dumps(model.state()) == before


def test_a_sent_back_example_moved_to_the_right_department_changes_the_suggestion() -> None:
    model = _taught()
    for _ in range(3):
        model.learn("河道采砂", "urban")
    assert model.suggest("河道采砂")[0].department == "urban"
    for _ in range(3):
        model.unlearn("河道采砂", "urban")
        model.learn("河道采砂", "water")
    assert model.suggest("河道采砂")[0].department == "water"


def test_the_same_examples_in_another_order_make_the_same_model() -> None:
    assert _taught().state() == _taught(list(reversed(EXAMPLES))).state()


def test_the_state_is_json_and_a_model_from_it_suggests_the_same() -> None:
    model = _taught()
    again = SuggestModel.from_state(json.loads(json.dumps(model.state(), ensure_ascii=False)))
    assert again.state() == model.state()
    assert again.suggest("物业乱收费") == model.suggest("物业乱收费")


def test_a_model_counted_with_other_features_is_refused() -> None:
    state = dict(_taught().state()) | {"features": "whitespace/v0"}
    with pytest.raises(ValueError, match=re.escape(FEATURES)):
        SuggestModel.from_state(state)


def test_an_example_without_a_department_is_refused() -> None:
    with pytest.raises(ValueError, match="department"):
        SuggestModel().learn("电梯坏了", "")
