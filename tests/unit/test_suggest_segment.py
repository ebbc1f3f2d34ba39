"""A message's text as the suggestion model's features: jieba words and character bigrams."""

from __future__ import annotations

from streams.books.suggest import segment


def test_words_leave_out_stop_words_punctuation_and_bare_numbers() -> None:
    found = segment.words("请问，我们小区的电梯坏了3天了！")
    assert "电梯" in found and "小区" in found
    assert not {"请问", "我们", "的", "了", "，", "！", "0"} & set(found)


def test_department_names_stay_one_word() -> None:
    assert "住建局" in segment.words("住建局能不能管一管")
    assert "城管局" in segment.words("城管局也不管")


def test_digit_runs_become_one_address_shape() -> None:
    assert segment.normalised("东风路12号3栋2单元") == segment.normalised("东风路8号5栋1单元")
    assert segment.normalised("东风路12号") == "东风路0号"


def test_full_width_forms_and_latin_case_are_folded() -> None:
    assert segment.normalised("ＫＴＶ噪音１２") == "ktv噪音0"


def test_a_mobile_number_is_dropped_not_learned() -> None:
    found = segment.features("电话13912345678，路灯坏了")
    assert not any("0" in f for f in found)
    assert "路灯" in found


def test_bigrams_cover_each_run_of_chinese_and_are_marked() -> None:
    assert segment.bigrams("路灯坏了, 拉圾") == ["~路灯", "~灯坏", "~坏了", "~拉圾"]


def test_a_typo_still_shares_bigrams_with_the_right_spelling() -> None:
    right, typo = set(segment.features("垃圾没人清运")), set(segment.features("拉圾没人清运"))
    assert "~清运" in right & typo


def test_features_are_each_once_in_order_of_first_appearance() -> None:
    found = segment.features("路灯路灯路灯")
    assert len(found) == len(set(found))
    assert found[0] == "路灯"


def test_the_same_text_always_gives_the_same_features() -> None:
    text = "俺们村到镇上的班车停了，娃上学咋办？龙泉镇李家村"
    assert segment.features(text) == segment.features(text)


def test_the_dictionary_is_loaded_once() -> None:
    assert segment.ready() is segment.ready()


def test_a_bigram_is_shown_without_its_mark() -> None:
    assert segment.shown("~路灯") == "路灯" and segment.shown("路灯") == "路灯"
    assert segment.is_bigram("~路灯") and not segment.is_bigram("路灯")


def test_a_bigram_that_is_no_word_or_a_single_character_is_not_readable() -> None:
    assert not segment.readable("~了一") and not segment.readable("~梯坏")
    assert not segment.readable("御")
    assert segment.readable("~路灯") and segment.readable("电梯")
