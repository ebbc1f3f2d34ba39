"""The keyword baseline the suggestion model must beat: a hand table, as an office would write it.

Each department has the words a duty officer would list for it; a message scores one point per
listed word it contains, and departments are ranked by points, ties (and a message with no
listed word) in the table's order, which puts the departments that take the most messages first.
"""

from __future__ import annotations

__all__ = ["KEYWORDS", "suggest"]

KEYWORDS: dict[str, tuple[str, ...]] = {
    "housing": ("住建", "物业", "电梯", "开发商", "房子", "漏水", "交房", "网签", "公租房",
                "廉租房", "维修基金", "维修资金", "燃气", "危房", "工地", "施工", "小区改造"),
    "urban": ("城管", "占道", "摆摊", "路灯", "井盖", "垃圾", "违建", "违章建", "私搭乱建",
              "渣土车", "广告牌", "招牌", "绿化", "行道树", "公厕", "人行道"),
    "edu": ("教育", "学校", "学生", "老师", "教师", "上学", "入学", "学区", "学籍", "幼儿园",
            "补课", "培训", "中考", "高考", "作业", "校车", "小学", "中学"),
    "hrss": ("人社", "工资", "欠薪", "社保", "养老保险", "养老金", "退休金", "劳动合同",
             "工伤", "招聘", "失业", "职称", "就业", "创业", "技能培训"),
    "transport": ("交通运输", "公交", "班车", "客运", "出租车", "网约车", "公路", "乡道",
                  "村道", "县道", "桥", "超载", "修路", "汽车站", "货车"),
    "market": ("市场监管", "过期", "假货", "缺斤短两", "价格", "商家", "超市", "饭店", "餐馆",
               "食品", "药店", "营业执照", "预付卡", "会员卡", "虚假宣传", "三无"),
    "eco": ("环保", "生态环境", "污染", "排污", "排放", "废水", "废气", "偷排", "臭味", "粉尘",
            "扬尘", "噪音", "噪声", "环评", "黑烟", "辐射"),
    "water": ("水利", "自来水", "停水", "饮用水", "河道", "水库", "防汛", "河堤", "堤坝", "灌溉",
              "水渠", "渠道", "采砂", "水费", "机井", "水井"),
    "agri": ("农业农村", "种粮", "农机", "种子", "化肥", "农药", "土地流转", "承包地", "养殖",
             "秸秆", "农田", "猪瘟", "疫病", "改厕", "合作社", "家庭农场"),
    "police": ("公安", "派出所", "报警", "被偷", "被盗", "户口", "身份证", "赌博", "打架",
               "诈骗", "驾驶证", "传销", "非法集资", "酒驾", "交警", "飙车"),
    "health": ("卫健", "卫生院", "医院", "医生", "护士", "疫苗", "诊所", "看病", "体检",
               "出生医学证明", "救护车", "120", "家庭医生", "计生"),
    "civil": ("民政", "低保", "高龄", "养老院", "敬老院", "福利院", "残疾", "结婚", "离婚",
              "殡葬", "公墓", "救助", "特困", "村委会", "孤儿", "留守儿童"),
    "medins": ("医保", "医疗保险", "报销", "异地就医", "参保", "慢特病", "慢性病", "大病保险"),
    "land": ("自然资源", "不动产", "房产证", "土地证", "耕地", "宅基地", "采石", "采矿", "开山",
             "滑坡", "地质灾害", "砍", "林权", "征地", "征收", "规划"),
}  # fmt: skip
"""Department -> its words; the departments that take the most messages first."""


def suggest(text: str, k: int = 3) -> list[tuple[str, int]]:
    """The ``k`` departments with most listed words in ``text``, with their points."""
    points = {d: sum(word in text for word in words) for d, words in KEYWORDS.items()}
    order = {d: n for n, d in enumerate(KEYWORDS)}
    return sorted(points.items(), key=lambda item: (-item[1], order[item[0]]))[:k]
