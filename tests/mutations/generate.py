"""Mutation generators: plausible mistakes made to the real NBS provincial files.

Each `Mutation` is one change to one of the six real provincial CSVs (in
`../shared/data/nbs/provincial`, read from there, never copied into the repo), described as the
user would find it: class, file, row (as the pipeline counts rows: the file's line number, the
header being row 1), province, year, column, old and new value. `write_landing(m, dir)` writes
the six files into `dir` with that one change.

`generate(count, seed)` draws a reproducible set: `count` split over the classes by `WEIGHTS`,
each class drawn with its own seeded generator (so one class's draws do not move another's).
`stratified(per_class, seed)` draws `per_class` of each class (the CI sample).
"""

from __future__ import annotations

import csv
import random
import shutil
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = (REPO_ROOT / ".." / "shared" / "data" / "nbs" / "provincial").resolve()

FILES = {
    "consumption": "prov_energy_consumption_by_fuel_physical.csv",
    "production": "prov_energy_production_by_fuel_physical.csv",
    "gdp": "prov_gdp_current_prices_100m_yuan.csv",
    "gdp_index": "prov_gdp_index_prev_year_100.csv",
    "population": "prov_population_yearend_10k.csv",
    "intensity": "prov_energy_intensity_indicators.csv",
}
# The columns the pipeline reads (the others are reported as skipped, so a change there has no
# effect by construction and is not drawn).
USED_COLUMNS = {
    "consumption": ["煤炭消费量(万吨)", "焦炭消费量(万吨)", "原油消费量(万吨)", "汽油消费量(万吨)",
                    "煤油消费量(万吨)", "柴油消费量(万吨)", "燃料油消费量(万吨)",
                    "天然气消费量(亿立方米)", "电力消费量(亿千瓦小时)"],
    "production": ["焦炭生产量(万吨)", "原油生产量(万吨)", "汽油生产量(万吨)", "煤油生产量(万吨)",
                   "柴油生产量(万吨)", "燃料油生产量(万吨)", "天然气生产量(亿立方米)",
                   "发电量(亿千瓦小时)"],
    "gdp": ["地区生产总值(亿元)"],
    "gdp_index": ["地区生产总值指数(上年=100)"],
    "population": ["年末常住人口(万人)"],
}
NAME_COLUMN = "省份"
CODE_COLUMN, YEAR_COLUMN = "省份编码", "年份"
PLAN_BASE_YEARS = (2005, 2010, 2015)  # 11th, 12th, 13th FYP (DESIGN.md §1)
LAST_ASSESSED_YEAR = 2017  # the last year with fuel data in the real files
POWERS = (-4, -3, -2, -1, 1, 2, 3, 4)

# header unit -> the units off by 10^k a header may wrongly say (all in reference/units.csv)
UNIT_SLIPS = {
    "万吨": ("吨", "千吨", "亿吨"),
    "亿立方米": ("万立方米", "立方米"),
    "亿千瓦小时": ("万千瓦小时", "千瓦小时"),
    "亿元": ("万元", "元"),
    "万人": ("人",),
}

# draws per class in a set of 500 (scaled for other counts)
WEIGHTS = {
    "cell_pow10": 110,
    "column_pow10": 30,
    "province_pow10": 40,
    "index_basis": 45,
    "transposed_digits": 60,
    "shifted_years": 30,
    "swapped_provinces": 30,
    "duplicate_row": 40,
    "header_unit": 30,
    "encoding": 30,
    "names": 55,
}
CLASSES = tuple(WEIGHTS)


@dataclass(frozen=True)
class Mutation:
    """One plausible mistake. `level` says what a rejection must name: `cell` (file, row and
    column), `row` (file and row), `column` (file and column), `province` (file and province)
    or `file` (the file). `rows`: the rows a message may name for it (a duplicate row: the
    original and the copy; a province: all its rows in the file)."""

    cls: str
    variant: str
    level: str
    file: str
    row: int | None = None
    province: str | None = None  # GB/T 2260 code
    province_name: str | None = None
    year: int | None = None
    column: str | None = None
    old: str | None = None
    new: str | None = None
    note: str = ""
    rows: tuple[int, ...] = ()
    provinces: tuple[str, ...] = ()  # codes (two for a swap)
    columns: tuple[str, ...] = ()  # the column's names a message may use
    edits: tuple = field(default=(), repr=False)  # see _apply
    encoding: str = "utf-8"

    @property
    def key(self) -> str:
        return "|".join(str(v) for v in (self.cls, self.variant, self.file, self.row,
                                           self.province, self.year, self.column, self.new,
                                           self.note))

    def describe(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.province:
            unit = f"{self.province_name} {self.province}" if self.province_name else self.province
            where.append(f"({unit}{', ' + str(self.year) if self.year else ''})")
        if self.column:
            where.append(f"'{self.column}'")
        text = f"{self.cls}/{self.variant}: " + " ".join(where)
        if self.old is not None or self.new is not None:
            text += f": {self.old!r} -> {self.new!r}"
        return text + (f" ({self.note})" if self.note else "")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("edits")
        out["description"] = self.describe()
        return out


@dataclass
class Table:
    key: str
    name: str
    header: list[str]
    rows: list[list[str]]  # data rows; file row number = index + 2

    def col(self, name: str) -> int:
        return self.header.index(name)

    def province_rows(self, code: str) -> list[int]:
        return [i for i, r in enumerate(self.rows) if r[0] == code]


@cache
def load_tables(source: Path = SOURCE) -> dict[str, Table]:
    tables = {}
    for key, name in FILES.items():
        with (source / name).open(encoding="utf-8", newline="") as fh:
            header, *rows = list(csv.reader(fh))
        tables[key] = Table(key, name, header, rows)
    return tables


@cache
def provinces() -> dict[str, dict[str, str]]:
    path = REPO_ROOT / "include" / "carbon_assess" / "reference" / "provinces.csv"
    with path.open(encoding="utf-8") as fh:
        return {r["code"]: r for r in csv.DictReader(fh)}


def file_row(index: int) -> int:
    """The row number the pipeline prints for data row `index` (header = row 1)."""
    return index + 2


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _scaled(text: str, k: int) -> str:
    value = _number(text)
    assert value is not None
    out = format(value.scaleb(k), "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".") or "0"
    return out


def _unit_of(column: str) -> tuple[str, str] | None:
    """('煤炭消费量', '万吨') for '煤炭消费量(万吨)'."""
    if column.endswith(")") and "(" in column:
        base, unit = column[:-1].rsplit("(", 1)
        return base, unit
    return None


def _names(column: str, *more: str) -> tuple[str, ...]:
    split = _unit_of(column)
    return tuple(dict.fromkeys([column, *more, *([split[0]] if split else [])]))


def _cells(tables: dict[str, Table]) -> list[tuple[str, int, str]]:
    """Every non-blank, non-zero numeric cell of a used column: (file key, row index, column)."""
    out = []
    for key, columns in USED_COLUMNS.items():
        table = tables[key]
        for column in columns:
            c = table.col(column)
            for i, row in enumerate(table.rows):
                value = _number(row[c])
                if value is not None and value != 0:
                    out.append((key, i, column))
    return out


def _cell_mutation(tables: dict[str, Table], cls: str, variant: str, key: str, i: int,
                   column: str, new: str, note: str = "", rows: tuple[int, ...] = ()
                   ) -> Mutation:
    table = tables[key]
    row = table.rows[i]
    c = table.col(column)
    code = row[0]
    return Mutation(
        cls=cls, variant=variant, level="cell", file=table.name, row=file_row(i),
        province=code, province_name=row[1], year=int(row[2]), column=column, old=row[c],
        new=new, note=note, rows=rows or (file_row(i),), provinces=(code,),
        columns=_names(column), edits=(("set", file_row(i), c, new),))


# --- the classes: each draw(tables, rng) returns one random mutation of its class ------------


def draw_cell_pow10(tables: dict[str, Table], rng: random.Random) -> Mutation:
    key, i, column = rng.choice(_cells_cached())
    k = rng.choice(POWERS)
    old = tables[key].rows[i][tables[key].col(column)]
    return _cell_mutation(tables, "cell_pow10", f"x1e{k:+d}", key, i, column, _scaled(old, k))


def draw_column_pow10(tables: dict[str, Table], rng: random.Random) -> Mutation:
    key = rng.choice(list(USED_COLUMNS))
    column = rng.choice(USED_COLUMNS[key])
    k = rng.choice(POWERS)
    table = tables[key]
    c = table.col(column)
    edits = tuple(("set", file_row(i), c, _scaled(r[c], k))
                  for i, r in enumerate(table.rows) if _number(r[c]) is not None)
    return Mutation(cls="column_pow10", variant=f"x1e{k:+d}", level="column", file=table.name,
                    column=column, new=f"x1e{k:+d}", note="every row of the column",
                    columns=_names(column), edits=edits)


def draw_province_pow10(tables: dict[str, Table], rng: random.Random) -> Mutation:
    key = rng.choice(list(USED_COLUMNS))
    table = tables[key]
    code = rng.choice(sorted({r[0] for r in table.rows}))
    k = rng.choice(POWERS)
    cols = [table.col(c) for c in USED_COLUMNS[key]]
    edits = tuple(("set", file_row(i), c, _scaled(table.rows[i][c], k))
                  for i in table.province_rows(code) for c in cols
                  if _number(table.rows[i][c]) is not None)
    return Mutation(cls="province_pow10", variant=f"x1e{k:+d}", level="province",
                    file=table.name, province=code, province_name=provinces()[code]["name_zh"],
                    new=f"x1e{k:+d}", note="all its rows, every used column",
                    rows=tuple(file_row(i) for i in table.province_rows(code)), provinces=(code,),
                    edits=edits)


def _index_basis_candidates(tables: dict[str, Table]) -> list[tuple[int, int, str]]:
    """(row index, base year, cumulative value) for each previous-year=100 cell at least two
    years into a plan whose cumulative (base year = 100) value differs from it."""
    table = tables["gdp_index"]
    c = table.col(USED_COLUMNS["gdp_index"][0])
    by = {(r[0], int(r[2])): (i, _number(r[c])) for i, r in enumerate(table.rows)}
    out = []
    for (code, year), (i, _) in sorted(by.items()):
        for base in PLAN_BASE_YEARS:
            # 2018-2019 decide no verdict (the release has no fuel data for them)
            if not base + 2 <= year <= min(base + 5, LAST_ASSESSED_YEAR):
                continue
            factors = [by.get((code, y), (0, None))[1] for y in range(base + 1, year + 1)]
            if any(f is None for f in factors):
                continue
            cumulative = Decimal(100)
            for f in factors:
                cumulative = cumulative * f / 100
            out.append((i, base, _fmt(cumulative.quantize(Decimal("0.1")))))
    return out


def draw_index_basis(tables: dict[str, Table], rng: random.Random) -> Mutation:
    i, base, value = rng.choice(_index_basis_cached())
    return _cell_mutation(tables, "index_basis", f"base{base}=100", "gdp_index", i,
                          USED_COLUMNS["gdp_index"][0], value,
                          note=f"the cumulative index on the {base}=100 basis")


def draw_transposed_digits(tables: dict[str, Table], rng: random.Random) -> Mutation:
    while True:
        key, i, column = rng.choice(_cells_cached())
        old = tables[key].rows[i][tables[key].col(column)]
        spots = [p for p in range(len(old) - 1)
                 if old[p].isdigit() and old[p + 1].isdigit() and old[p] != old[p + 1]]
        if not spots:
            continue
        p = rng.choice(spots)
        new = old[:p] + old[p + 1] + old[p] + old[p + 2:]
        if _number(new) is not None:
            return _cell_mutation(tables, "transposed_digits", f"pos{p}", key, i, column, new)


def draw_shifted_years(tables: dict[str, Table], rng: random.Random) -> Mutation:
    key = rng.choice(list(USED_COLUMNS))
    table = tables[key]
    code = rng.choice(sorted({r[0] for r in table.rows}))
    shift = rng.choice((1, -1))
    rows = table.province_rows(code)
    year_of = {int(table.rows[i][2]): i for i in rows}
    edits = []
    for c in (table.col(col) for col in USED_COLUMNS[key]):
        for year, i in year_of.items():
            source = year_of.get(year - shift)
            if source is not None and table.rows[source][c] != table.rows[i][c]:
                edits.append(("set", file_row(i), c, table.rows[source][c]))
    return Mutation(cls="shifted_years", variant="later" if shift == 1 else "earlier",
                    level="province", file=table.name, province=code,
                    province_name=provinces()[code]["name_zh"],
                    note=f"every value moved one year {'later' if shift == 1 else 'earlier'}"
                         " (the edge year keeps its own)",
                    rows=tuple(file_row(i) for i in rows), provinces=(code,), edits=tuple(edits))


def draw_swapped_provinces(tables: dict[str, Table], rng: random.Random) -> Mutation:
    key = rng.choice(list(USED_COLUMNS))
    table = tables[key]
    a, b = rng.sample(sorted({r[0] for r in table.rows}), 2)
    rows_a = {int(table.rows[i][2]): i for i in table.province_rows(a)}
    rows_b = {int(table.rows[i][2]): i for i in table.province_rows(b)}
    edits = []
    for year in sorted(set(rows_a) & set(rows_b)):
        ia, ib = rows_a[year], rows_b[year]
        for c in range(3, len(table.header)):
            if table.rows[ia][c] != table.rows[ib][c]:
                edits.append(("set", file_row(ia), c, table.rows[ib][c]))
                edits.append(("set", file_row(ib), c, table.rows[ia][c]))
    names = provinces()
    return Mutation(cls="swapped_provinces", variant="all_years", level="province",
                    file=table.name, province=a, province_name=names[a]["name_zh"],
                    note=f"values of {names[a]['name_zh']} and {names[b]['name_zh']} exchanged",
                    rows=tuple(file_row(i) for i in [*rows_a.values(), *rows_b.values()]),
                    provinces=(a, b), edits=tuple(edits))


def draw_duplicate_row(tables: dict[str, Table], rng: random.Random) -> Mutation:
    key, i, column = rng.choice(_cells_cached())
    table = tables[key]
    c = table.col(column)
    old = table.rows[i][c]
    variant = rng.choice(("plus10pct", "minus10pct", "x10"))
    value = _number(old)
    assert value is not None
    new = {"plus10pct": value * Decimal("1.1"), "minus10pct": value * Decimal("0.9"),
           "x10": value * 10}[variant]
    new_text = _fmt(new.quantize(Decimal(10) ** min(_number(old).as_tuple().exponent, 0)))
    copy = list(table.rows[i])
    copy[c] = new_text
    row = table.rows[i]
    return Mutation(cls="duplicate_row", variant=variant, level="row", file=table.name,
                    row=file_row(i) + 1, province=row[0], province_name=row[1], year=int(row[2]),
                    column=column, old=old, new=new_text,
                    note=f"a copy of row {file_row(i)} inserted after it, with another value",
                    rows=(file_row(i), file_row(i) + 1), provinces=(row[0],),
                    columns=_names(column), edits=(("insert_after", file_row(i), copy),))


def draw_header_unit(tables: dict[str, Table], rng: random.Random) -> Mutation:
    key, column = rng.choice([(k, c) for k, cols in USED_COLUMNS.items() for c in cols
                              if (_unit_of(c) or ("", ""))[1] in UNIT_SLIPS])
    table = tables[key]
    base, unit = _unit_of(column)  # type: ignore[misc]
    slip = rng.choice(UNIT_SLIPS[unit])
    new = f"{base}({slip})"
    return Mutation(cls="header_unit", variant=f"{unit}->{slip}", level="column",
                    file=table.name, row=1, column=column, old=column, new=new,
                    columns=_names(column, new), edits=(("set", 1, table.col(column), new),))


def draw_encoding(tables: dict[str, Table], rng: random.Random) -> Mutation:
    key = rng.choice(list(FILES))
    table = tables[key]
    variant = rng.choice(("gb18030", "utf-8-bom", "gb18030_one_utf8_row", "utf8_one_gb18030_row"))
    if variant in ("gb18030", "utf-8-bom"):
        return Mutation(cls="encoding", variant=variant, level="file", file=table.name,
                        note="whole file re-encoded",
                        encoding="gb18030" if variant == "gb18030" else "utf-8-sig")
    i = rng.randrange(len(table.rows))
    row = table.rows[i]
    file_enc, row_enc = (("gb18030", "utf-8") if variant == "gb18030_one_utf8_row"
                         else ("utf-8", "gb18030"))
    return Mutation(cls="encoding", variant=variant, level="row", file=table.name,
                    row=file_row(i), province=row[0], province_name=row[1], year=int(row[2]),
                    note=f"file in {file_enc}, this row in {row_enc}", rows=(file_row(i),),
                    provinces=(row[0],), encoding=file_enc,
                    edits=(("row_encoding", file_row(i), row_enc),))


def _renamed(name: str, code: str, variant: str) -> str:
    ref = provinces()[code]
    if variant == "short":
        return ref["short_zh"]
    if variant == "english":
        return ref["name_en"]
    if variant == "typo":  # two characters exchanged: 青海省 -> 海青省
        return name[1] + name[0] + name[2:]
    return name[:1] + "\u200b" + name[1:]  # zwsp


def draw_names(tables: dict[str, Table], rng: random.Random) -> Mutation:
    key = rng.choice(list(FILES))
    table = tables[key]
    variant = rng.choice(("short", "english", "typo", "zwsp"))
    scope = rng.choice(("one_row", "province"))
    c = table.col(NAME_COLUMN)
    if scope == "one_row":
        i = rng.randrange(len(table.rows))
        row = table.rows[i]
        new = _renamed(row[c], row[0], variant)
        return _cell_mutation(tables, "names", f"{variant}/one_row", key, i, NAME_COLUMN, new)
    code = rng.choice(sorted({r[0] for r in table.rows}))
    rows = table.province_rows(code)
    old = table.rows[rows[0]][c]
    new = _renamed(old, code, variant)
    return Mutation(cls="names", variant=f"{variant}/province", level="province",
                    file=table.name, province=code, province_name=old, column=NAME_COLUMN,
                    old=old, new=new, note="in all its rows of the file",
                    rows=tuple(file_row(i) for i in rows), provinces=(code,),
                    columns=(NAME_COLUMN,),
                    edits=tuple(("set", file_row(i), c, new) for i in rows))


DRAWS = {name: globals()[f"draw_{name}"] for name in CLASSES}


@cache
def _cells_cached() -> list[tuple[str, int, str]]:
    return _cells(load_tables())


@cache
def _index_basis_cached() -> list[tuple[int, int, str]]:
    return _index_basis_candidates(load_tables())


# --- named cases (issue 18) -------------------------------------------------------------------


def _find(key: str, code: str, year: int) -> int:
    table = load_tables()[key]
    return next(i for i, r in enumerate(table.rows) if r[0] == code and int(r[2]) == year)


def qinghai_2012_index_basis() -> Mutation:
    """Qinghai's 2012 GDP index on the 2010=100 basis in the previous-year=100 column."""
    tables = load_tables()
    m = _cell_mutation(tables, "index_basis", "base2010=100", "gdp_index",
                       _find("gdp_index", "630000", 2012), USED_COLUMNS["gdp_index"][0],
                       "125.1", note="the cumulative index on the 2010=100 basis")
    assert m.old == "111.2", m
    return m


def qinghai_2015_gdp_x10() -> Mutation:
    """Qinghai's 2015 GDP typed ten times too large."""
    tables = load_tables()
    i = _find("gdp", "630000", 2015)
    old = tables["gdp"].rows[i][tables["gdp"].col(USED_COLUMNS["gdp"][0])]
    return _cell_mutation(tables, "cell_pow10", "x1e+1", "gdp", i, USED_COLUMNS["gdp"][0],
                          _scaled(old, 1))


# --- sampling ---------------------------------------------------------------------------------


def _draw_unique(cls: str, n: int, seed: int) -> list[Mutation]:
    rng = random.Random(f"{seed}:{cls}")
    tables = load_tables()
    out: dict[str, Mutation] = {}
    attempts = 0
    while len(out) < n and attempts < 50 * n + 100:
        attempts += 1
        m = DRAWS[cls](tables, rng)
        out.setdefault(m.key, m)
    return list(out.values())


def allocation(count: int) -> dict[str, int]:
    """`count` split over the classes in proportion to WEIGHTS (largest remainders)."""
    total = sum(WEIGHTS.values())
    exact = {c: count * w / total for c, w in WEIGHTS.items()}
    out = {c: int(v) for c, v in exact.items()}
    for c in sorted(exact, key=lambda c: exact[c] - out[c], reverse=True)[:count - sum(
            out.values())]:
        out[c] += 1
    return out


def generate(count: int = 500, seed: int = 1, classes: tuple[str, ...] = CLASSES
             ) -> list[Mutation]:
    """A reproducible set of `count` mutations (same count and seed: same set)."""
    quota = allocation(count)
    return _interleaved([_draw_unique(cls, quota[cls], seed) for cls in classes])


def _interleaved(groups: list[list[Mutation]]) -> list[Mutation]:
    """Round robin over the classes, so that a run cut short still covers each class."""
    out: list[Mutation] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out += [g[i] for g in groups if i < len(g)]
    return out


def stratified(per_class: int = 2, seed: int = 1, classes: tuple[str, ...] = CLASSES
               ) -> list[Mutation]:
    return [m for cls in classes for m in _draw_unique(cls, per_class, seed)]


# --- writing a mutated landing folder ---------------------------------------------------------


def _apply(lines: list[str], edits: tuple) -> tuple[list[str], dict[int, str]]:
    """Apply the edits to the file's lines (line 1 = header). Returns the lines and the
    per-line encodings. Edits: ('set', line, column index, text), ('insert_after', line,
    fields), ('row_encoding', line, encoding). Line numbers are those of the unmutated file."""
    fields = [line.split(",") for line in lines]
    inserts: dict[int, list[str]] = {}
    encodings: dict[int, str] = {}
    for edit in edits:
        op, line = edit[0], edit[1]
        if op == "set":
            fields[line - 1][edit[2]] = edit[3]
        elif op == "insert_after":
            inserts[line] = list(edit[2])
        elif op == "row_encoding":
            encodings[line] = edit[2]
        else:
            raise ValueError(op)
    out: list[str] = []
    out_encodings: dict[int, str] = {}
    for n, f in enumerate(fields, start=1):
        out.append(",".join(f))
        if n in encodings:
            out_encodings[len(out)] = encodings[n]
        if n in inserts:
            out.append(",".join(inserts[n]))
    return out, out_encodings


def write_landing(mutation: Mutation | None, dest: Path, source: Path = SOURCE) -> Path:
    """The six real provincial files in `dest`, with `mutation` applied (None: unchanged)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        target = dest / name
        if mutation is None or name != mutation.file:
            shutil.copyfile(source / name, target)
            target.chmod(0o644)
            continue
        text = (source / name).read_text(encoding="utf-8")
        assert text.endswith("\n")
        lines, encodings = _apply(text[:-1].split("\n"), mutation.edits)
        body = b"".join(
            line.encode(encodings.get(n, "utf-8" if mutation.encoding == "utf-8-sig"
                                      else mutation.encoding)) + b"\n"
            for n, line in enumerate(lines, start=1))
        if mutation.encoding == "utf-8-sig":
            body = "\ufeff".encode() + body
        target.write_bytes(body)
    return dest
