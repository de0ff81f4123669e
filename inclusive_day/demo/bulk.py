"""Writing many rows fast, inside the session's transaction, on PostgreSQL and SQLite.

PostgreSQL gets binary COPY (psycopg 3), SQLite executemany of plain INSERTs in big batches.
Rows are tuples streamed from generators or handed one at a time to a `sink`, never lists of
dicts, so that millions of them need no more memory than one batch. Values that the two
databases take in different forms go through the writer's converters: `stamp` for instants
(given as epoch seconds), `day` for dates and `amount` for decimals; everything else is a
Python int, float, bool, str (enums by value) or None.

Ids are given explicitly, counted on from the largest id a table holds; on PostgreSQL the
tables are locked against other writers first, and their sequences are moved past the new
ids afterwards, so ordinary ORM inserts carry on where the load stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from inclusive_day.analytics.refresh import count_loaded
from inclusive_day.attendance.identity import person_key

SQLITE_BATCH = 20_000
SQLITE_CACHE_KIB = 512 * 1024
# The memory PostgreSQL may sort in when it builds an index again after a load (the server's
# default, 64 MB, spills a few million rows to disk).
INDEX_BUILD_MEMORY = "256MB"
# Below this many rows a load keeps a table's indexes and foreign keys: dropping and building
# them again costs more than it saves.
SUSPEND_FROM = 50_000
# The tables whose rows the analytics count (see analytics.models).
COUNTED_TABLES = ("station_visits", "checkins")
# PostgreSQL's epoch for timestamps: 2000-01-01 00:00 UTC, in Unix seconds.
PG_EPOCH = 946_684_800


class SQLiteStamps:
    """Instants as SQLite keeps them: the naive UTC text SQLAlchemy writes,
    "2024-05-01 01:30:00.000000", so that comparisons with bound datetimes stay correct."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        # "HH:MM:SS.000000" for every second of a day: millions of stamps are made.
        self._clock = [
            f"{h:02d}:{m:02d}:{s:02d}.000000"
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]

    def __call__(self, epoch: int) -> str:
        day, second = divmod(epoch, 86_400)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d ")
            self._days[day] = prefix
        return prefix + self._clock[second]


def pg_stamp(epoch: int) -> int:
    """An instant in timestamptz's binary form: microseconds since 2000-01-01 UTC (sent with
    the int8 dumper, which writes exactly those eight bytes)."""
    return (epoch - PG_EPOCH) * 1_000_000


class BulkWriter:
    """Fast inserts into the tables of one load, in the session's current transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self.postgresql = self.dialect == "postgresql"
        self.raw = self.connection.connection.driver_connection
        self._quote = self.connection.dialect.identifier_preparer.quote
        self.stamp: Callable[[int], object] = pg_stamp if self.postgresql else SQLiteStamps()

    def day(self, value: date | None):
        """A date as the database takes it."""
        if value is None or self.postgresql:
            return value
        return value.isoformat()

    def amount(self, value: Decimal | None):
        """A decimal as the database takes it (SQLite reads exact text into NUMERIC)."""
        if value is None or self.postgresql:
            return value
        return str(value)

    def lock(self, tables: Sequence[Table]) -> None:
        """Keep other writers out of `tables` until commit (readers carry on); PostgreSQL only,
        as a SQLite write transaction excludes other writers anyway."""
        if self.postgresql:
            names = ", ".join(self._quote(t.name) for t in tables)
            self.connection.exec_driver_sql(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")

    @contextmanager
    def big_cache(self) -> Iterator[None]:
        """On SQLite, a page cache of SQLITE_CACHE_KIB for the load, so that growing indexes
        stay in memory (the default is 2 MiB); the connection's own setting comes back after."""
        if self.postgresql:
            yield
            return
        before = self.raw.execute("PRAGMA cache_size").fetchone()[0]
        self.raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        try:
            yield
        finally:
            self.raw.execute(f"PRAGMA cache_size={int(before)}")

    def first_id(self, table: Table) -> int:
        """The id the next new row of `table` takes: one past the largest it holds."""
        largest = self.connection.scalar(select(func.max(table.c.id)))
        return (largest or 0) + 1

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        """Insert `rows` (tuples in the order of `columns`); return how many."""
        count = 0
        with self.sink(table, columns) as put:
            for row in rows:
                put(row)
                count += 1
        return count

    @contextmanager
    def sink(self, table: Table, columns: Sequence[str]) -> Iterator[Callable[[tuple], None]]:
        """A function that inserts one row (a tuple in the order of `columns`), for loops that
        make millions of rows; the rows are in once the block ends.

        Rows with an identity get its person key when `columns` leave it out. The tables the
        analytics count (door visits, check-ins, with their ids given) are counted by
        analytics.refresh.count_loaded after the load, set by set, with their counting
        triggers off during it on PostgreSQL (on SQLite the triggers count row by row)."""
        columns = tuple(columns)
        keyed = "person_key" in table.c and "person_key" not in columns and "identity" in columns
        counted = self.postgresql and table.name in COUNTED_TABLES
        identity_at = columns.index("identity") if keyed else 0
        id_at = columns.index("id") if counted else 0
        first_id: list[int] = []
        written = (*columns, "person_key") if keyed else columns
        with self._triggers_off(table, counted), self._rows(table, written) as put:
            if not keyed and not counted:
                yield put
            else:

                def put_row(row: tuple) -> None:
                    if counted and (not first_id or row[id_at] < first_id[0]):
                        first_id[:] = [row[id_at]]
                    put((*row, person_key(row[identity_at])) if keyed else row)

                yield put_row
        if first_id:
            count_loaded(table, first_id[0])

    @contextmanager
    def _triggers_off(self, table: Table, off: bool) -> Iterator[None]:
        """The table's own triggers off for the block (PostgreSQL), when `off`."""
        if not off:
            yield
            return
        name = self._quote(table.name)
        self.connection.exec_driver_sql(f"ALTER TABLE {name} DISABLE TRIGGER USER")
        yield
        self.connection.exec_driver_sql(f"ALTER TABLE {name} ENABLE TRIGGER USER")

    @contextmanager
    def _rows(self, table: Table, columns: Sequence[str]) -> Iterator[Callable[[tuple], None]]:
        """The plain sink: COPY on PostgreSQL, batched INSERTs on SQLite."""
        names = ", ".join(self._quote(c) for c in columns)
        target = f"{self._quote(table.name)} ({names})"
        if self.postgresql:
            sql = f"COPY {target} FROM STDIN WITH (FORMAT BINARY)"
            with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
                copy.set_types([_binary_type(table.c[name]) for name in columns])
                yield copy.write_row
            return
        sql = f"INSERT INTO {target} VALUES ({', '.join('?' * len(columns))})"
        cursor = self.raw.cursor()
        batch: list[tuple] = []

        def put(row: tuple) -> None:
            batch.append(row)
            if len(batch) >= SQLITE_BATCH:
                cursor.executemany(sql, batch)
                batch.clear()

        yield put
        if batch:
            cursor.executemany(sql, batch)
        cursor.close()

    @contextmanager
    def foreign_keys_suspended(self, tables: Sequence[Table]) -> Iterator[Callable[[], None]]:
        """On PostgreSQL, drop the foreign keys of `tables` for the load and add them back
        after, which checks every new row in one join per key instead of one trigger call per
        row and key, even a NULL one (the bulk loading advice of the PostgreSQL manual).
        Until the transaction ends, `tables` and the tables they refer to are locked against
        readers too. Nothing changes on SQLite.

        Gives a function that adds the keys back at once (so that the caller can time it);
        otherwise they are added back when the block ends.
        """
        if not self.postgresql:
            yield lambda: None
            return
        keys = self.connection.execute(
            text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
                " FROM pg_constraint WHERE contype = 'f'"
                " AND conrelid::regclass::text = ANY(:names)"
                " ORDER BY conrelid::regclass::text, conname"
            ),
            {"names": [t.name for t in tables]},
        ).all()
        for table, name, _definition in keys:
            self.connection.exec_driver_sql(
                f"ALTER TABLE {self._quote(table)} DROP CONSTRAINT {self._quote(name)}"
            )

        def restore() -> None:
            while keys:
                table, name, definition = keys.pop(0)
                self.connection.exec_driver_sql(
                    f"ALTER TABLE {self._quote(table)}"
                    f" ADD CONSTRAINT {self._quote(name)} {definition}"
                )

        yield restore
        restore()

    @contextmanager
    def suspended(self, tables: Sequence[Table], rows: int) -> Iterator[None]:
        """Foreign keys and secondary indexes of `tables` suspended for a load of about
        `rows` rows, when it is big enough for that to pay (SUSPEND_FROM)."""
        if rows < SUSPEND_FROM:
            yield
            return
        with self.foreign_keys_suspended(tables), self.indexes_suspended(tables):
            yield

    @contextmanager
    def indexes_suspended(self, tables: Sequence[Table]) -> Iterator[None]:
        """Drop the secondary indexes of `tables` for the load and build them again at the end
        of the block: one sort per index instead of a descent of every index for every row
        (the bulk loading advice of the PostgreSQL manual; for door visits it halves the
        server's work). On PostgreSQL unique constraints go too, and are checked again as they
        come back; until the transaction ends `tables` are locked against readers. SQLite
        keeps the indexes of its UNIQUE constraints, which cannot be dropped."""
        if not self.postgresql:
            names = ", ".join("?" * len(tables))
            stored = self.raw.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                f" AND tbl_name IN ({names}) ORDER BY name",
                [t.name for t in tables],
            ).fetchall()
            for name, _sql in stored:
                self.raw.execute(f"DROP INDEX {self._quote(name)}")
            yield
            for _name, sql in stored:
                self.raw.execute(sql)
            return
        indexes = self.connection.execute(
            text(
                "SELECT t.relname, c.relname, pg_get_indexdef(i.indexrelid),"
                " con.conname, pg_get_constraintdef(con.oid)"
                " FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_class t ON t.oid = i.indrelid"
                " LEFT JOIN pg_constraint con"
                "   ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid"
                " WHERE NOT i.indisprimary AND t.relname = ANY(:names)"
                "   AND t.relnamespace = to_regnamespace(current_schema())"
                " ORDER BY t.relname, c.relname"
            ),
            {"names": [t.name for t in tables]},
        ).all()
        for table, index, _definition, constraint, _constraint_definition in indexes:
            if constraint is not None:
                self.connection.exec_driver_sql(
                    f"ALTER TABLE {self._quote(table)} DROP CONSTRAINT {self._quote(constraint)}"
                )
            else:
                self.connection.exec_driver_sql(f"DROP INDEX {self._quote(index)}")
        yield
        if indexes:
            self.connection.exec_driver_sql(
                f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'"
            )
        for table, _index, definition, constraint, constraint_definition in indexes:
            if constraint is not None:
                self.connection.exec_driver_sql(
                    f"ALTER TABLE {self._quote(table)}"
                    f" ADD CONSTRAINT {self._quote(constraint)} {constraint_definition}"
                )
            else:
                self.connection.exec_driver_sql(definition)

    def fix_sequences(self, tables: Sequence[Table]) -> None:
        """Move each table's id sequence past the largest id (PostgreSQL; SQLite needs none)."""
        if not self.postgresql:
            return
        for table in tables:
            name = self._quote(table.name)
            self.connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"
                " HAVING max(id) IS NOT NULL"
            )


def analyse(session: Session, tables: Sequence[Table]) -> None:
    """Fresh planner statistics (and on PostgreSQL a vacuum, which sets the visibility map so
    that index-only scans work at once) for `tables`, after the load is committed."""
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        names = ", ".join(engine.dialect.identifier_preparer.quote(t.name) for t in tables)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {names}")
        return
    with engine.connect() as conn:
        # Sample each index instead of reading it whole: the statistics come out the same shape.
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def _binary_type(column) -> str:
    """The type psycopg dumps a column's values as, in a binary COPY."""
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl
    checks = (
        (DateTime, "int8"),  # see pg_stamp
        (Date, "date"),
        (Boolean, "bool"),
        (BigInteger, "int8"),
        (Integer, "int4"),
        (Float, "float8"),
        (Numeric, "numeric"),
        ((String, Text), "text"),
    )
    for types, name in checks:
        if isinstance(kind, types):
            return name
    raise TypeError(f"no binary COPY type for {column.table.name}.{column.name}: {kind!r}")
