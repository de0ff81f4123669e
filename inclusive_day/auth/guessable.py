"""How guessable a password is: the cheapest way to build it out of the pieces people type
instead of choosing, counted in guesses (log10), in the manner of zxcvbn but knowing the
patterns of Chinese passwords.

The pieces: a common password or word (common_passwords.txt, also with @ for a and 0 for o),
one character repeated or a piece repeated (1111122222, 520520), a run (1234, abcd, 9876), a
walk along the keyboard or the keypad (qwerty, zaq1xsw2cde3, 147258369), a date or a year
(19900815, 0815, 1990), a number that carries a meaning (520 "I love you", 1314 "for life",
5201314, 7758, 168) and names and words in pinyin (zhangwei, wangxiaoming). Any other
character costs what guessing it blindly costs. The cheapest split of the password into
pieces is found by dynamic programming, as zxcvbn does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from functools import cache, lru_cache
from pathlib import Path

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
# The longest piece looked for (one character repeated may run longer).
PIECE_MAX = 32


class PieceKind(Enum):
    """What kind of predictable piece a password holds, in the order a refusal names them."""

    COMMON = "common"
    MEANINGFUL_NUMBER = "meaningful_number"
    PINYIN = "pinyin"
    DATE = "date"
    KEYBOARD = "keyboard"
    SEQUENCE = "sequence"
    REPEAT = "repeat"


# Rows, columns and blocks people walk along on a keyboard or a keypad (each also backwards).
KEYBOARD_SEQUENCES = (
    "`1234567890-=",
    "~!@#$%^&*()_+",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    # Down the columns (1qaz 2wsx ...), up them (zaq1 xsw2 ...), and zigzagging.
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0",
    "1qazxsw23edcvfr45tgbnhy67ujm,ki89ol./;p0",
    "zaq12wsxcde34rfvbgt56yhnmju78ik,.lo90p;/",
    "qazwsxedcrfvtgbyhnujmikolp",
    "zaqxswcdevfrbgtnhymjukilop",
    # Blocks of rows: qwer asdf zxcv, qwe asd zxc.
    "1234qwerasdfzxcv",
    "12345qwertasdfgzxcvb",
    "123qweasdzxc",
    # The number pad.
    "7894561230",
    "1472583690",
    "3692581470",
    "7418529630",
    "9638527410",
    "159753",
    "357951",
    "1236987",
    "1478963",
    "3214789",
    "2580",
)
# Numbers that say something in Chinese: 520 我爱你, 1314 一生一世, 7758 亲亲我吧, 3344 生生世世,
# 9420 就是爱你, 530 我想你, 584 我发誓, 8013 伴你一生, 168 一路发, 518 我要发; lucky runs;
# service numbers everyone knows.
MEANINGFUL_NUMBERS = frozenset(
    {
        "520",
        "521",
        "1314",
        "5201314",
        "5211314",
        "1314520",
        "1314521",
        "7758",
        "7758521",
        "3344",
        "9420",
        "530",
        "584",
        "8013",
        "168",
        "1688",
        "518",
        "5188",
        "888",
        "8888",
        "666",
        "6666",
        "999",
        "9999",
        "5858",
        "110",
        "119",
        "120",
        "12306",
        "10086",
        "10010",
        "95588",
    }
)


def _words(text: str) -> list[str]:
    """The words of a block of text, one per space."""
    return text.split()


# Every syllable of Mandarin in pinyin, without tones (ü written v).
PINYIN_SYLLABLES = frozenset(
    _words(
        """
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can
    cang cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai
    chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den
    deng di dian diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei
    fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui
    gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji
    jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken
    keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia
    lian liang liao lie lin ling liu lo long lou lu lv luan lue lve lun luo ma mai man mang
    mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen
    neng ni nian niang niao nie nin ning niu nong nou nu nv nuan nue nve nuo o ou pa pai pan
    pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin
    qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run
    ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi shou
    shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang
    tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen
    weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao
    ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai
    zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun
    zhuo zi zong zou zu zuan zui zun zuo
    """
    )
)
# The commonest surnames, in pinyin: a name starts with one far more often than not.
SURNAMES = frozenset(
    _words(
        """
    wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng
    liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai jia
    ding wei xue ye yan du dai xia zhong ren fan fang shi yao tan liao zou xiong jin lu hao
    kong bai cui kang mao qiu qin gu hou shao meng long wan duan lei qian yin yi chang qiao
    lai gong wen ou ouyang situ zhuge shangguan
    """
    )
)
_SYLLABLE_MAX = max(len(s) for s in PINYIN_SYLLABLES)
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "3": "e", "$": "s", "5": "s"})

# What each piece costs, in log10 of guesses.
_DIGIT = 1.0
_LETTER = math.log10(26)
_SIGN = math.log10(33)
_OTHER = math.log10(3000)  # a Chinese character, say
_YEAR = math.log10(150)  # 1900-2049
_MONTH_DAY = math.log10(366)
_SURNAME = math.log10(len(SURNAMES))
_SYLLABLE = math.log10(len(PINYIN_SYLLABLES))


@dataclass(frozen=True)
class Piece:
    """A stretch of a password and what it costs to guess; `kinds` says what it is (empty for
    characters guessed blindly)."""

    text: str
    log_guesses: float
    kinds: frozenset[PieceKind] = frozenset()


@dataclass(frozen=True)
class Estimate:
    """A password's guesses (log10) by its cheapest split, and the kinds of piece in it."""

    log_guesses: float
    kinds: tuple[PieceKind, ...]


@cache
def common_passwords() -> frozenset[str]:
    """The list of common passwords and words, lower-cased, read once."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


@cache
def _keyboard_runs() -> tuple[str, ...]:
    return tuple(s for seq in KEYBOARD_SEQUENCES for s in (seq, seq[::-1]))


def _keyboard_starts() -> int:
    return sum(len(s) for s in _keyboard_runs())


def blind_cost(char: str) -> float:
    """Guessing one character with nothing to go on: a digit, a letter, a sign, or other."""
    if char.isdigit() and char.isascii():
        return _DIGIT
    if char.isalpha() and char.isascii():
        return _LETTER
    if char.isascii():
        return _SIGN
    return _OTHER


def _space_of(char: str) -> int:
    return round(10 ** blind_cost(char))


def _is_run(text: str) -> bool:
    """1234, abcd, 9876: digits or letters, each one up or one down from the last."""
    if not (text.isascii() and (text.isdigit() or text.isalpha())):
        return False
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return steps in ({1}, {-1})


def _date_cost(text: str) -> float | None:
    """What a year or a date written in digits costs to guess, or None for other numbers."""
    if not (text.isascii() and text.isdigit()):
        return None

    def md(m: str, d: str) -> bool:
        return 1 <= int(m) <= 12 and 1 <= int(d) <= 31

    def year(y: str) -> bool:
        return 1900 <= int(y) <= 2049

    n = len(text)
    if n == 4:
        if year(text):
            return _YEAR
        if md(text[:2], text[2:]) or md(text[2:], text[:2]):
            return _MONTH_DAY
    if n == 6:
        if md(text[2:4], text[4:]) or md(text[2:4], text[:2]) or md(text[:2], text[2:4]):
            return _MONTH_DAY + 2  # yymmdd, ddmmyy, mmddyy
        if year(text[:4]) and 1 <= int(text[4:]) <= 12:
            return _YEAR + math.log10(12)  # yyyymm
    if n == 8:
        y1, y2 = text[:4], text[4:]
        if (year(y1) and md(text[4:6], text[6:])) or (
            year(y2) and (md(text[:2], text[2:4]) or md(text[2:4], text[:2]))
        ):
            return _YEAR + _MONTH_DAY
    return None


def _pinyin_cost(text: str) -> float | None:
    """What a name or word made only of pinyin syllables costs (a surname first is cheaper)."""
    if len(text) < 2 or not (text.isascii() and text.isalpha()):
        return None
    n = len(text)
    best: list[float | None] = [0.0] + [None] * n
    for j in range(1, n + 1):
        for i in range(max(0, j - _SYLLABLE_MAX), j):
            if best[i] is None:
                continue
            syllable = text[i:j]
            if syllable in PINYIN_SYLLABLES or (i == 0 and syllable in SURNAMES):
                cost = best[i] + (_SURNAME if i == 0 and syllable in SURNAMES else _SYLLABLE)
                if best[j] is None or cost < best[j]:
                    best[j] = cost
    return best[n]


@lru_cache(maxsize=16384)
def _piece(text: str) -> Piece | None:
    """The cheapest way to guess `text` as one predictable piece, with every kind it is; None
    when it is none (a single character is always a blind guess)."""
    if len(text) == 1:
        return Piece(text, blind_cost(text))
    options: list[tuple[float, PieceKind]] = []
    inner: set[PieceKind] = set()
    n = len(text)
    if len(set(text)) == 1 and n >= 3:
        options.append((math.log10(_space_of(text[0])) + math.log10(n), PieceKind.REPEAT))
    for size in range(2, n // 2 + 1):
        if n % size == 0 and text == text[:size] * (n // size):
            block = cheapest(text[:size])
            options.append((block.log_guesses + math.log10(n // size), PieceKind.REPEAT))
            inner.update(block.kinds)
            break
    if n >= 3 and _is_run(text):
        options.append((math.log10(2 * _space_of(text[0])) + math.log10(n), PieceKind.SEQUENCE))
    if n >= 3 and any(text in run for run in _keyboard_runs()):
        options.append((math.log10(_keyboard_starts()) + math.log10(n), PieceKind.KEYBOARD))
    if text in MEANINGFUL_NUMBERS:
        options.append((math.log10(len(MEANINGFUL_NUMBERS)), PieceKind.MEANINGFUL_NUMBER))
    if (date := _date_cost(text)) is not None:
        options.append((date, PieceKind.DATE))
    if n >= 4:
        listed = math.log10(max(len(common_passwords()), 2))
        if text in common_passwords():
            options.append((listed, PieceKind.COMMON))
        elif text.translate(_LEET) != text and text.translate(_LEET) in common_passwords():
            options.append((listed + 1, PieceKind.COMMON))
    if (pinyin := _pinyin_cost(text)) is not None:
        options.append((pinyin, PieceKind.PINYIN))
    if not options:
        return None
    kinds = frozenset({kind for _cost, kind in options} | inner)
    return Piece(text, min(cost for cost, _kind in options), kinds)


@lru_cache(maxsize=1024)
def cheapest(text: str) -> Estimate:
    """The cheapest split of `text` (lower-cased) into pieces: its guesses and their kinds.

    Pieces are at most PIECE_MAX characters long, but for one character repeated, which may
    run as long as it does.
    """
    n = len(text)
    best = [0.0] + [math.inf] * n
    chosen: list[Piece | None] = [None] * (n + 1)
    run_start = 0
    for j in range(1, n + 1):
        if j >= 2 and text[j - 1] != text[j - 2]:
            run_start = j - 1
        starts = list(range(max(0, j - PIECE_MAX), j))
        if j - run_start > PIECE_MAX:
            starts.append(run_start)
        for i in starts:
            piece = _piece(text[i:j])
            if piece is not None and best[i] + piece.log_guesses < best[j]:
                best[j] = best[i] + piece.log_guesses
                chosen[j] = piece
    kinds: set[PieceKind] = set()
    j = n
    while j > 0:
        piece = chosen[j]
        kinds.update(piece.kinds)
        j -= len(piece.text)
    return Estimate(best[n], tuple(k for k in PieceKind if k in kinds))
