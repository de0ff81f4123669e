"""Synthetic Chinese place and personal names for the synthetic province, built from syllables.

A name is two characters that read like a real place (东阳, 石门, 金桥); each character comes
with its pinyin initial so that codes can be made from names the way real registries make
them (东阳 -> DY). Everything is drawn from the caller's seeded random generator.
"""

from __future__ import annotations

import random


def _syllables(text: str) -> tuple[tuple[str, str], ...]:
    """(character, pinyin initial) pairs from "东D 西X ..."."""
    return tuple((pair[0], pair[1]) for pair in text.split())


# First and second characters of two-character place names, with their pinyin initials.
FIRST = _syllables(
    "东D 西X 南N 北B 中Z 新X 安A 平P 永Y 长C 兴X 宁N 昌C 丰F 华H 明M 德D 和H 顺S 泰T "
    "嘉J 福F 康K 庆Q 云Y 青Q 白B 金J 龙L 凤F 石S 松S 桃T 杨Y 柳L 梅M 兰L 清Q 宝B 玉Y "
    "锦J 瑞R 开K 文W 武W 光G 江J 湖H 高G 广G 通T 乐L 吉J 汉H 仁R 红H 翠C 银Y 马M 鹤H "
    "洪H 沙S 岳Y 湘X 常C 双S 桂G 临L 辰C 靖J 隆L 富F 盛S 望W 溪X 月Y 星X 秀S 尚S 崇C"
)
SECOND = _syllables(
    "阳Y 山S 江J 河H 湖H 州Z 城C 源Y 溪X 桥Q 坪P 坝B 岭L 岗G 塘T 湾W 口K 门M 关G 庄Z "
    "营Y 屯T 堡B 铺P 集J 园Y 港G 渡D 浦P 泉Q 岩Y 峰F 川C 田T 洲Z 宁N 安A 兴X 丰F 华H "
    "平P 林L 井J 亭T 陵L 乐L 化H 水S 冲C 寨Z 家J 屏P 丘Q 滩T 台T 埠B 店D 驿Y 桂G"
)
# A third character some community names carry (翠湖苑, 金桥里).
THIRD = "苑里园湾坊"
ROAD_KINDS = ("路", "路", "路", "街", "大道", "东路", "西路", "南路", "北路", "中路")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
    "肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
# Given names as the people who run stations carry them: one character or two.
GIVEN_ONE = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚辉玲华飞鑫波斌宇浩凯健俊帆旭宁龙林欢阳亮成佳琳雪颖倩婷红燕梅莉萍兰英"
)
_GIVEN_TWO = (
    "秀英桂英秀兰玉兰桂兰秀珍凤英玉梅建华建国建军志强志明国强国华海燕海涛红梅丽华丽娟"
    "春梅春华晓东晓燕晓明文华文斌永刚永明德明立新卫东小平金凤淑珍子涵浩然雨轩欣怡思远"
    "家豪俊杰婉婷晓丽红霞建平志刚桂芳美玲翠兰振华云峰丽萍国平建新长林"
)
GIVEN_TWO = tuple(_GIVEN_TWO[i : i + 2] for i in range(0, len(_GIVEN_TWO), 2))


class Names:
    """Two-character place names, none given twice, with their pinyin initials."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def place(self, taken: set[str] | None = None) -> tuple[str, str]:
        """A fresh (name, initials) pair, also avoiding initials in `taken` when given."""
        for _attempt in range(10_000):
            (a, ai), (b, bi) = self.rng.choice(FIRST), self.rng.choice(SECOND)
            name, initials = a + b, ai + bi
            if a == b or name in self.used or (taken is not None and initials in taken):
                continue
            self.used.add(name)
            if taken is not None:
                taken.add(initials)
            return name, initials
        raise RuntimeError("ran out of place names")

    def local(self, siblings: set[str], third: float = 0.0) -> str:
        """A name unique among `siblings` (it may repeat elsewhere, as real village names do)."""
        while True:
            (a, _), (b, _) = self.rng.choice(FIRST), self.rng.choice(SECOND)
            name = a + b
            if third and self.rng.random() < third:
                name += self.rng.choice(THIRD)
            if a != b and name not in siblings:
                siblings.add(name)
                return name

    def road(self) -> str:
        """A road name such as 金桥东路 or 石门大道."""
        (a, _), (b, _) = self.rng.choice(FIRST), self.rng.choice(SECOND)
        return a + b + self.rng.choice(ROAD_KINDS)

    def full_name(self) -> str:
        """A person's full name such as 王秀英 or 李强: a surname and one or two characters."""
        given = GIVEN_TWO if self.rng.random() < 0.6 else GIVEN_ONE
        return self.rng.choice(SURNAMES) + self.rng.choice(given)

    def person(self, title: str = "") -> str:
        """A contact as people are named on forms: 王经理, 陈女士."""
        return self.rng.choice(SURNAMES) + title
