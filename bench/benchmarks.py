"""`make bench`: how close the engine comes to Connect's quota bound, and how far ahead of row-by-row.

Connect meters each API on its own token bucket (2 requests/s, burst 5), so the best possible wall
time for a file is the largest, over the APIs it uses, of (calls to that API / that API's rate). The
benchmark applies generated files of several shapes to the Connect emulator over loopback HTTP, with
every API's bucket at Connect's ratio but the rate scaled up by SCALE (burst stays 5 tokens), so
time shrinks uniformly and the whole run takes minutes; times "at 2/s" are the measured ones x SCALE.
It prints, per shape, the calls per API, throttles, wall time, the quota bound and the row-by-row
baseline (computed from its call pattern), checks the targets of the issue, writes a Markdown report
to bench/RESULTS.md and exits 1 when a target is missed. Everything is seeded: the files, the
instances and the calls are the same on every run; only the times vary.

    .venv/bin/python -m bench.benchmarks [--scale 10] [--results bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import math
import multiprocessing
import os
import platform
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connect_emulator import ConnectEmulator, ConnectService, Quota, generate_seed, instance_from_seed
from connect_emulator.seed import SAMPLE_ATTRIBUTES
from connect_profiles.adapters.connect import ConnectGateway, connect_client
from connect_profiles.adapters.pacing import Pacer, Rate
from connect_profiles.adapters.quotas import PacingOptions, resolve_pacing
from connect_profiles.domain.engine import (
    EngineSettings,
    assemble,
    check_offline,
    prepare,
    run_job,
    run_users,
)
from connect_profiles.domain.model import INPUT_COLUMNS
from connect_profiles.ports import LIST_USERS_PAGE
from tests.fakes import FakeConnect

REAL_RATE = 2.0  # Connect: requests per second, per API
BURST = 5  # Connect: burst per API (not scaled)
BASELINE_RATE = 1.0  # the row-by-row script: requests per second, all APIs together
LIMIT = 10  # proficiencies per agent
REGION = "us-east-1"
WALL_TARGET = 1.15  # wall time at most 15% over the quota bound
QUOTA_WALL_TARGET = 1.3  # the account-quota shape, paced by the product's defaults (90% headroom)
# The account-quota shape: Connect's read APIs at 10/s (as Service Quotas has shown them), the rest at 2/s.
READS_AT_10 = {"ListUsers": 10.0, "DescribeUser": 10.0, "ListUserProficiencies": 10.0}
READS_AT_10 |= {"ListPredefinedAttributes": 10.0, "DescribePredefinedAttribute": 10.0}
SPEEDUP_TARGET = 10.0
CPU_ROWS, CPU_USERS = 100_000, 10_000
CPU_SECONDS_TARGET, CPU_MEMORY_TARGET_MB = 5.0, 300.0

Key = tuple[str, str]
Cells = tuple[str, str, str, str, str, str]

SU, LU, DPA = "SearchUsers", "ListUsers", "DescribePredefinedAttribute"
LUP = "ListUserProficiencies"
ASSOC, UPD, DIS = "AssociateUserProficiencies", "UpdateUserProficiencies", "DisassociateUserProficiencies"
LRP = "ListRoutingProfiles"
APIS = (LUP, ASSOC, UPD, DIS, LU, SU, DPA, LRP)
SHORT = {LUP: "LUP", ASSOC: "Assoc", UPD: "Upd", DIS: "Dis", LU: "LU", SU: "SU", DPA: "DPA", LRP: "LRP"}
SEARCH_PAGE, GROUP_LIST_PAGE = 500, 1000
KEYS: list[Key] = [(name, value) for name, values in SAMPLE_ATTRIBUTES.items() for value in values]


# --- instances and files ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    username: str
    held: dict[Key, int]

    def ident(self, by_username: bool) -> tuple[str, str]:
        return (self.username, "username") if by_username else (self.id, "user_id")


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    document: dict[str, Any]  # the emulator seed of the instance
    rows: list[Cells]
    speedup_target: bool = False  # the 10x-over-row-by-row target applies
    # Per-API quotas (unscaled, requests/s) the emulator enforces and its Service Quotas reports;
    # the product then runs at its defaults, reading them. None: every API at 2/s, paced explicitly.
    quotas: dict[str, float] | None = None

    def rate(self, api: str, scale: float) -> float:
        return (self.quotas or {}).get(api, REAL_RATE) * scale

    def burst(self, api: str, scale: float) -> int:
        """Bursts are not published: the documented 5, or the quota value if higher, as the product
        assumes (scaled with the rate here); the 2/s shapes keep Connect's 5."""
        return BURST if self.quotas is None else max(BURST, math.floor(self.rate(api, scale)))

    @property
    def instance_users(self) -> int:
        return len(self.document["users"])


def agents_of(document: dict[str, Any]) -> list[Agent]:
    return [
        Agent(
            user["id"],
            user["username"],
            {(p["attribute"], p["value"]): int(p["level"]) for p in user["proficiencies"]},
        )
        for user in document["users"]
    ]


def interleave(per_user: Sequence[Sequence[Cells]], rng: random.Random) -> list[Cells]:
    """Users' rows mixed through the file as people write them, each user's rows kept in order."""
    queues = [list(reversed(rows)) for rows in per_user if rows]
    out: list[Cells] = []
    while queues:
        index = rng.randrange(len(queues))
        out.append(queues[index].pop())
        if not queues[index]:
            queues[index] = queues[-1]
            queues.pop()
    return out


def _other_level(level: int) -> int:
    return level % 5 + 1


def _free_keys(state: dict[Key, int]) -> list[Key]:
    return [key for key in KEYS if key not in state]


def all_three_rows(agent: Agent, rng: random.Random) -> list[Cells]:
    """Five rows that need all three write APIs: remove one held, update another, add three."""
    ident = agent.ident(by_username=True)
    held = sorted(agent.held)
    added = rng.sample(_free_keys(agent.held), 3)
    return [
        (*ident, "remove", *held[0], ""),
        (*ident, "update", *held[1], str(_other_level(agent.held[held[1]]))),
        *[(*ident, "add", *key, str(rng.randint(1, 5))) for key in added],
    ]


def adds_rows(agent: Agent, rng: random.Random) -> list[Cells]:
    ident = agent.ident(by_username=True)
    return [(*ident, "add", *key, str(rng.randint(1, 5))) for key in rng.sample(_free_keys(agent.held), 5)]


def one_write_rows(agent: Agent, rng: random.Random, write: str) -> list[Cells]:
    """Three rows that need only one write API: three adds, three updates or three removes."""
    ident = agent.ident(by_username=True)
    if write == ASSOC:
        return [
            (*ident, "add", *key, str(rng.randint(1, 5))) for key in rng.sample(_free_keys(agent.held), 3)
        ]
    held = sorted(agent.held)[:3]
    if write == UPD:
        return [(*ident, "update", *key, str(_other_level(agent.held[key]))) for key in held]
    return [(*ident, "remove", *key, "") for key in held]


def removes_rows(agent: Agent) -> list[Cells]:
    ident = agent.ident(by_username=False)
    return [(*ident, "remove", *key, "") for key in sorted(agent.held)]


def noop_rows(agent: Agent, rng: random.Random) -> list[Cells]:
    """Rows that change nothing: already held at that level, not assigned, use update, a duplicate."""
    ident = agent.ident(by_username=True)
    key = rng.choice(sorted(agent.held))
    level = agent.held[key]
    first: Cells = (*ident, "add", *key, str(level))
    return [
        first,
        (*ident, "update", *key, str(level)),
        (*ident, "remove", *rng.choice(_free_keys(agent.held)), ""),
        (*ident, "add", *key, str(_other_level(level))),
        first,  # an exact repeat: skipped before any call
    ]


def mixed_rows(agent: Agent, rng: random.Random, count: int, by_username: bool) -> list[Cells]:
    """Adds, updates, removes, rows that change nothing and the odd exact repeat, each row chosen
    against the state the rows before it leave."""
    ident = agent.ident(by_username)
    state = dict(agent.held)
    rows: list[Cells] = []
    while len(rows) < count:
        roll = rng.random()
        held = sorted(state)
        if rows and roll < 0.05:
            rows.append(rng.choice(rows))
        elif held and roll < 0.30:
            key = rng.choice(held)
            state[key] = _other_level(state[key])
            rows.append((*ident, "update", *key, str(state[key])))
        elif held and roll < 0.50:
            key = rng.choice(held)
            del state[key]
            rows.append((*ident, "remove", *key, ""))
        elif roll < 0.60:
            rows.append((*ident, "remove", *rng.choice(_free_keys(state)), ""))  # not assigned
        elif held and roll < 0.70:
            key = rng.choice(held)
            rows.append((*ident, "add", *key, str(state[key])))  # already at that level
        elif len(state) < LIMIT:
            key = rng.choice(_free_keys(state))
            state[key] = rng.randint(1, 5)
            rows.append((*ident, "add", *key, str(state[key])))
    return rows


def shapes() -> list[Shape]:
    def instance(users: int, seed: int) -> tuple[dict[str, Any], list[Agent], random.Random]:
        document = generate_seed(users=users, seed=seed)
        return document, agents_of(document), random.Random(seed)

    doc1, agents1, rng1 = instance(2000, 101)
    chosen1 = rng1.sample([a for a in agents1 if len(a.held) >= 2], 200)
    doc2, agents2, rng2 = instance(2000, 102)
    chosen2 = rng2.sample(agents2, 200)
    doc3, agents3, rng3 = instance(5000, 103)
    chosen3 = rng3.sample(agents3, 1000)
    doc4, agents4, rng4 = instance(2000, 104)
    holders4 = [a for a in agents4 if a.held]
    rng4.shuffle(holders4)
    removes: list[list[Cells]] = []
    while sum(map(len, removes)) < 1000:
        removes.append(removes_rows(holders4[len(removes)]))
    removes[-1] = removes[-1][: len(removes[-1]) - (sum(map(len, removes)) - 1000)]
    doc5, agents5, rng5 = instance(2000, 105)
    chosen5 = rng5.sample([a for a in agents5 if a.held], 200)
    doc7, agents7, rng7 = instance(2000, 107)
    profiles = [{"id": f"rp-{n}", "name": name} for n, name in enumerate(["Sales", "Support", "Billing"])]
    doc7["routing_profiles"] = profiles
    for index, user in enumerate(doc7["users"]):
        user["routing_profile_id"] = "rp-0" if index % 10 < 4 else "rp-1"  # Sales: 800 agents
    sales7 = [a for i, a in enumerate(agents7) if i % 10 < 4]
    before7 = [mixed_rows(a, rng7, 1, True) for a in rng7.sample(sales7, 100)]
    after7 = [mixed_rows(a, rng7, 1, True) for a in rng7.sample(agents7, 100)]
    rows7 = [
        *interleave(before7, rng7),
        ("Sales", "routing_profile", "set", "skill", "Retention", "3"),
        *interleave(after7, rng7),
    ]
    doc6, agents6, rng6 = instance(2000, 106)
    holders6 = [a for a in agents6 if len(a.held) >= 3]
    chosen6 = rng6.sample(holders6, 200) + rng6.sample([a for a in agents6 if a not in holders6], 100)
    writes6 = [UPD] * 100 + [DIS] * 100 + [ASSOC] * 100
    return [
        Shape(
            "1,000 rows, 200 users by username (instance 2,000): every user needs Assoc, Upd and Dis",
            doc1,
            interleave([all_three_rows(a, rng1) for a in chosen1], rng1),
            speedup_target=True,
        ),
        Shape(
            "1,000 rows, 200 users by username (instance 2,000): adds only",
            doc2,
            interleave([adds_rows(a, rng2) for a in chosen2], rng2),
            speedup_target=True,
        ),
        Shape(
            "5,000 rows, 1,000 users, half by username (instance 5,000): mixed",
            doc3,
            interleave([mixed_rows(a, rng3, 5, i % 2 == 0) for i, a in enumerate(chosen3)], rng3),
        ),
        Shape(
            f"1,000 rows, {len(removes)} users by user_id (instance 2,000): removes only",
            doc4,
            interleave(removes, rng4),
        ),
        Shape(
            "1,000 rows, 200 users by username (instance 2,000): duplicates and no-ops only",
            doc5,
            interleave([noop_rows(a, rng5) for a in chosen5], rng5),
        ),
        Shape(
            "900 rows, 300 users by username (instance 2,000): each user needs one write API; "
            "reads at 10/s, writes at 2/s, product defaults (quotas read, 90% headroom)",
            doc6,
            interleave([one_write_rows(a, rng6, w) for a, w in zip(chosen6, writes6, strict=True)], rng6),
            quotas=READS_AT_10,
        ),
        Shape(
            "201 rows (instance 2,000): one routing_profile row reaching 800 agents, with 100 rows of "
            "its members before it and 100 rows of any users after it, by username",
            doc7,
            rows7,
        ),
    ]


def encode(rows: Sequence[Cells]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INPUT_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --- what the file should do and cost: an oracle independent of the engine ------------------


@dataclass(slots=True)
class Expected:
    statuses: Counter[str]
    state: dict[str, dict[Key, int]]  # every user's proficiencies after the job
    calls: Counter[str]  # the minimum the semantics allow, per API
    users: int  # users touched


def _apply(state: dict[Key, int], action: str, key: Key, level: str) -> str:
    held = state.get(key)
    if action == "add":
        if held is not None:
            return "skipped"
        if len(state) >= LIMIT:
            return "failed"
        state[key] = int(level)
        return "succeeded"
    if action == "update":
        if held is None:
            return "failed"
        if held == int(level):
            return "skipped"
        state[key] = int(level)
        return "succeeded"
    if held is None:
        return "skipped"
    del state[key]
    return "succeeded"


def expect(shape: Shape) -> Expected:
    agents = agents_of(shape.document)
    by_name = {a.username: a for a in agents}
    by_id = {a.id: a for a in agents}
    seen: set[Cells] = set()
    states: dict[str, dict[Key, int]] = {}
    statuses: Counter[str] = Counter()
    attributes: set[str] = set()
    usernames: set[str] = set()
    profiles = {p["name"]: p["id"] for p in shape.document.get("routing_profiles", [])}
    group_searches = 0
    for cells in shape.rows:
        if cells in seen:
            statuses["skipped"] += 1
            continue
        seen.add(cells)
        identifier, kind, action, attribute, value, level = cells
        if kind == "routing_profile":  # every member, in its place in the file
            members = [
                u["id"]
                for u in shape.document["users"]
                if u.get("routing_profile_id") == profiles[identifier]
            ]
            group_searches += max(1, math.ceil(len(members) / SEARCH_PAGE))
            attributes.add(attribute)
            outcomes: Counter[str] = Counter()
            for member in members:
                state = states.setdefault(member, dict(by_id[member].held))
                outcomes[
                    _apply(
                        state,
                        "add"
                        if action == "set" and (attribute, value) not in state
                        else ("update" if action == "set" else action),
                        (attribute, value),
                        level,
                    )
                ] += 1
            statuses[
                "failed" if outcomes["failed"] else "succeeded" if outcomes["succeeded"] else "skipped"
            ] += 1
            continue
        if kind == "username":
            usernames.add(identifier)
        agent = by_name[identifier] if kind == "username" else by_id[identifier]
        attributes.add(attribute)
        state = states.setdefault(agent.id, dict(agent.held))
        statuses[_apply(state, action, (attribute, value), level)] += 1
    pages = math.ceil(len(agents) / LIST_USERS_PAGE)
    calls: Counter[str] = Counter({SU: 1, DPA: len(attributes), LUP: len(states)})  # SU: the size probe
    if profiles and group_searches:
        calls[LRP] += math.ceil(len(profiles) / GROUP_LIST_PAGE)
        calls[SU] += group_searches
    if any(cells[1] == "user_id" for cells in shape.rows):
        # Rows by user id list the instance anyway (usernames for the files people read, and an
        # unknown id fails without a call of its own); usernames resolve from the same pages.
        calls[LU] += pages
    elif usernames:  # by pages, or one search per username when that is fewer calls
        calls[LU if len(usernames) > pages else SU] += min(pages, len(usernames))
    for user_id, after in states.items():
        before = by_id[user_id].held
        calls[DIS] += any(key not in after for key in before)
        calls[UPD] += any(key in before and before[key] != level for key, level in after.items())
        calls[ASSOC] += any(key not in before for key in after)
    final = {a.id: states.get(a.id, a.held) for a in agents}
    return Expected(statuses, final, +calls, len(states))


def baseline_calls(rows: Sequence[Cells]) -> tuple[int, int]:
    """The row-by-row script's calls: as the issue defines it (a lookup and a write per row), and a
    kinder count (lookups cached per user, exact repeats skipped, every other row still written,
    since the script does not read current state)."""
    distinct = set(rows)
    return 2 * len(rows), len({cells[:2] for cells in distinct}) + len(distinct)


# --- running a shape against the emulator ----------------------------------------------------


@dataclass(slots=True)
class Measured:
    wall: float  # seconds, at the scaled rate
    cpu: float  # process CPU seconds (engine and emulator together)
    calls: Counter[str]  # answered 2xx
    throttles: Counter[str]
    errors: Counter[str]
    statuses: Counter[str]
    state: dict[str, dict[Key, int]]


def run_shape(shape: Shape, scale: float) -> Measured:
    rate = Rate(REAL_RATE * scale, BURST)
    instance = instance_from_seed(shape.document)
    quotas = {api: Quota(shape.rate(api, scale), shape.burst(api, scale)) for api in (shape.quotas or {})}
    service = ConnectService(
        quota=Quota(rate=rate.per_second, burst=shape.burst(ASSOC, scale)), quotas=quotas
    )
    service.add_instance(instance)
    settings = EngineSettings(max_proficiencies=LIMIT)
    data = encode(shape.rows)
    with ConnectEmulator(service) as emulator:
        os.environ["AWS_ENDPOINT_URL_CONNECT"] = emulator.endpoint_url
        os.environ["AWS_ENDPOINT_URL_SERVICE_QUOTAS"] = emulator.endpoint_url
        # The account-quota shape runs the product at its defaults: it reads the quotas itself.
        pacer = (
            Pacer(rate) if shape.quotas is None else resolve_pacing(PacingOptions(), region=REGION).pacer()
        )
        client = connect_client(pacer, region=REGION, pool_size=settings.workers * 2)
        # Warm the client (model loading, first connection) on an API the job never calls.
        client.list_predefined_attributes(InstanceId=instance.id, MaxResults=1)
        service.reset_stats()
        gateway = ConnectGateway(client, instance.id)
        # The harness's own objects (every shape's instance and file) are left out of garbage
        # collection while the job runs: a collector pause is SCALE times longer in token periods
        # here than it would be at Connect's rate.
        gc.collect()
        gc.freeze()
        cpu, started = time.process_time(), time.perf_counter()
        result = run_job(data, gateway, settings, dry_run=False)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        gc.unfreeze()
        stats = service.stats()
        client.close()
    state = {uid: {k: int(v) for k, v in user.proficiencies.items()} for uid, user in instance.users.items()}
    return Measured(wall, cpu, stats.calls, stats.throttles, stats.errors, result.counts(), state)


# --- the CPU side: parse and plan 100,000 rows with no network ---------------------------------


def offline_connect(agents: Sequence[Agent]) -> FakeConnect:
    """The engine's reads answered from memory (tests/fakes.py): what the engine itself costs."""
    fake = FakeConnect(instance_id="offline", attributes=SAMPLE_ATTRIBUTES, max_proficiencies=LIMIT)
    for agent in agents:
        fake.add_user(agent.id, agent.username, *[(a, v, level) for (a, v), level in agent.held.items()])
    return fake


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def cpu_child(trace: bool) -> dict[str, float]:
    """Runs in a fresh process, so the peak RSS is this work's alone."""
    imports_rss = _rss_mb()
    document = generate_seed(users=CPU_USERS, seed=106)
    agents = agents_of(document)
    rng = random.Random(106)
    per_user = [mixed_rows(a, rng, CPU_ROWS // CPU_USERS, i % 2 == 0) for i, a in enumerate(agents)]
    rows = interleave(per_user, rng)
    data = encode(rows)
    gateway = offline_connect(agents)
    del document, per_user
    settings = EngineSettings(max_proficiencies=LIMIT)
    if trace:
        tracemalloc.start()
    times: dict[str, float] = {}

    def timed(name: str, step: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        value = step()
        times[name] = time.perf_counter() - started
        return value

    offline = timed("parse", lambda: check_offline(data, settings.limits))
    plan = timed("resolve", lambda: prepare(offline, gateway))
    results = timed("fold", lambda: run_users(plan.users, gateway, settings, dry_run=True).results)
    job = timed("assemble", lambda: assemble(plan, results, dry_run=True))
    assert gateway.writes == [], "the CPU benchmark is a dry run: it never writes"
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
    tracemalloc.stop()
    return {
        **times,
        "total": sum(times.values()),
        "rows": float(offline.data_rows),
        "users": float(len(plan.users)),
        "outcomes": float(len(job.outcomes)),
        "bytes": float(len(data)),
        "imports_rss_mb": imports_rss,
        "peak_rss_mb": _rss_mb(),
        "traced_peak_mb": traced,
    }


def run_cpu(trace: bool) -> dict[str, float]:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(cpu_child, trace).result()


# --- reporting ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Report:
    scale: float
    rows: list[list[str]] = field(default_factory=list)
    checks: list[tuple[bool, str]] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def check(self, ok: bool, text: str) -> None:
        self.checks.append((ok, text))
        print(f"  {'PASS' if ok else 'FAIL'}  {text}", flush=True)

    @property
    def passed(self) -> bool:
        return all(ok for ok, _ in self.checks)


def duration(seconds: float) -> str:
    if seconds < 100:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def calls_text(calls: Counter[str]) -> str:
    return " / ".join(str(calls.get(api, 0)) for api in APIS)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def bench_shape(number: int, shape: Shape, report: Report) -> None:
    scale = report.scale
    expected = expect(shape)
    print(f"\n[{number}] {shape.name}", flush=True)
    measured = run_shape(shape, scale)
    per_api = {api: measured.calls.get(api, 0) / shape.rate(api, scale) for api in APIS}
    bound = max(per_api.values())
    credited = max(
        max(0, measured.calls.get(api, 0) - shape.burst(api, scale)) / shape.rate(api, scale) for api in APIS
    )
    ratio = measured.wall / bound
    rate = REAL_RATE * scale
    plain, cached = baseline_calls(shape.rows)
    baseline_time = plain / BASELINE_RATE
    speedup, cached_speedup = baseline_time / (measured.wall * scale), cached / (measured.wall * scale)
    throttles = sum(measured.throttles.values())
    print(
        f"  rows {len(shape.rows)}, users {expected.users}, calls {dict(measured.calls)}, "
        f"throttles {dict(measured.throttles) or 0}, errors {dict(measured.errors) or 0}\n"
        f"  wall {measured.wall:.2f} s at {rate:g}/s (CPU {measured.cpu:.1f} s, "
        f"{100 * measured.cpu / measured.wall:.0f}% of one core); at 2/s {duration(measured.wall * scale)}; "
        f"quota bound {duration(bound * scale)} (burst-credited {duration(credited * scale)}); "
        f"ratio {ratio:.3f}\n"
        f"  row-by-row {plain} calls = {duration(baseline_time)} (cached lookups: {cached} calls); "
        f"speed-up {speedup:.1f}x ({cached_speedup:.1f}x vs cached)",
        flush=True,
    )
    report.rows.append(
        [
            str(number),
            shape.name,
            f"{len(shape.rows):,}",
            f"{expected.users:,}",
            calls_text(measured.calls),
            str(throttles),
            f"{measured.wall:.2f} s",
            duration(measured.wall * scale),
            duration(bound * scale),
            f"{ratio:.3f}"
            if shape.quotas is None
            else f"{ratio:.3f} ({measured.wall / credited:.3f} burst-credited)",
            f"{plain:,}",
            duration(baseline_time),
            f"{speedup:.1f}x ({cached_speedup:.1f}x)",
        ]
    )
    failed = measured.statuses.get("failed", 0)
    statuses = dict(sorted(measured.statuses.items()))
    report.check(
        failed == 0 and measured.statuses == expected.statuses,
        f"[{number}] no failed rows; statuses as the semantics say: {statuses}",
    )
    report.check(
        measured.state == expected.state, f"[{number}] the instance holds exactly the intended state"
    )
    report.check(
        +measured.calls == expected.calls and not measured.errors,
        f"[{number}] calls at the minimum: {calls_text(measured.calls)} "
        f"(minimum {calls_text(expected.calls)}), no 4xx",
    )
    if shape.quotas is None:
        report.check(ratio <= WALL_TARGET, f"[{number}] wall / quota bound = {ratio:.3f} <= {WALL_TARGET}")
    else:
        # Its bursts are a second of each quota: the stricter bound credits them.
        strict = measured.wall / credited
        report.check(
            strict <= QUOTA_WALL_TARGET,
            f"[{number}] wall / burst-credited quota bound = {strict:.3f} <= {QUOTA_WALL_TARGET} "
            f"(uncredited {ratio:.3f}); throttles {sum(measured.throttles.values())}",
        )
    if shape.speedup_target:
        report.check(
            speedup >= SPEEDUP_TARGET, f"[{number}] {speedup:.1f}x row-by-row >= {SPEEDUP_TARGET:g}x"
        )


def bench_cpu(report: Report) -> list[str]:
    print(f"\n[cpu] parse and plan {CPU_ROWS:,} rows over {CPU_USERS:,} users, offline", flush=True)
    timed = run_cpu(trace=False)
    traced = run_cpu(trace=True)
    stages = ", ".join(f"{name} {timed[name]:.2f} s" for name in ("parse", "resolve", "fold", "assemble"))
    print(
        f"  {timed['rows']:,.0f} rows ({timed['bytes'] / 2**20:.1f} MiB), {timed['users']:,.0f} users: "
        f"{stages}; total {timed['total']:.2f} s\n"
        f"  peak RSS {timed['peak_rss_mb']:.0f} MB (of which {timed['imports_rss_mb']:.0f} MB interpreter "
        f"and imports); traced Python allocations peak {traced['traced_peak_mb']:.0f} MB",
        flush=True,
    )
    report.check(
        timed["total"] < CPU_SECONDS_TARGET,
        f"[cpu] {CPU_ROWS:,} rows parsed and planned in {timed['total']:.2f} s < {CPU_SECONDS_TARGET:g} s",
    )
    report.check(
        timed["peak_rss_mb"] < CPU_MEMORY_TARGET_MB,
        f"[cpu] peak RSS {timed['peak_rss_mb']:.0f} MB < {CPU_MEMORY_TARGET_MB:g} MB",
    )
    return [
        f"{timed['rows']:,.0f}",
        f"{timed['users']:,.0f}",
        f"{timed['bytes'] / 2**20:.1f} MiB",
        stages,
        f"{timed['total']:.2f} s",
        f"{timed['peak_rss_mb']:.0f} MB ({timed['imports_rss_mb']:.0f} MB before the file)",
        f"{traced['traced_peak_mb']:.0f} MB",
    ]


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8") if Path("/proc/meminfo").exists() else ""
    kib = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cpus} CPUs ({model}), {kib / 2**20:.1f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def shape_header(scale: float) -> tuple[str, ...]:
    return (
        "#",
        "shape",
        "rows",
        "users",
        "calls LUP / Assoc / Upd / Dis / LU / SU / DPA",
        "throttles",
        f"wall at {REAL_RATE * scale:g}/s",
        "wall at 2/s",
        "quota bound at 2/s",
        "wall ÷ bound",
        "row-by-row calls",
        "row-by-row at 1/s",
        "speed-up (vs cached lookups)",
    )


CPU_HEADER = ("rows", "users", "file", "stages", "total", "peak RSS", "peak traced")


def markdown(report: Report, cpu_row: list[str], started: datetime, elapsed: float) -> str:
    scale = report.scale
    checks = "\n".join(f"- {'PASS' if ok else '**FAIL**'}: {text}" for ok, text in report.checks)
    return f"""# Benchmark results

Run {started:%Y-%m-%d %H:%M} UTC on {machine()}; `make bench` took {duration(elapsed)}.

The Connect emulator runs in-process over loopback HTTP with one bucket per API, as Connect's
quotas are, every rate scaled by {scale:g} (from 2/s to {REAL_RATE * scale:g}/s, burst still {BURST})
so the run takes minutes; the engine is paced at the same rate. "At 2/s" is the measured time x
{scale:g}. Quota bound: max over APIs of calls / rate. Row-by-row: one lookup and one write per row
at 1 request/s, computed from that call pattern.

{table(shape_header(scale), report.rows)}

{SHORT_LEGEND}

Parse and plan, offline (read, check, resolve usernames, fold every user, assemble; no network):

{table(CPU_HEADER, [cpu_row])}

Targets:

{checks}

Notes:

- Quota bound: the issue's definition, max over APIs of calls / rate, with no credit for the
  {BURST}-token burst (crediting it lowers the bound by {BURST} token periods, 2.5 s at 2/s). The
  prepare phase (one SearchUsers probe, then ListUsers pages beside the attribute describes) runs
  before the per-user phase, but its few calls fit in each API's burst, so the stricter
  sum-of-phases bound is the same within a round trip. What separates wall time from the bound: the
  client's buckets hold one token fewer than the service's (one token period, 0.5 s at 2/s), each
  user's read and writes are sequential (the last user's writes trail its read by up to three token
  periods), and HTTP round trips.
- Scaling multiplies every API's rate by {scale:g} and leaves the burst at {BURST} tokens, so
  token-bound time shrinks {scale:g}-fold exactly. What does not scale is loopback latency, thread
  scheduling and botocore's retry backoff (up to 1 s on a first retry): they weigh {scale:g} times
  more here, in token periods, than against Connect, so throttles and their cost are exaggerated by
  the scaling, never hidden by it.
- Row-by-row: every data row pays one user lookup and one write at 1 request/s in all, as the issue
  defines it; the original script does not read current state, so no-op, remove-of-absent and
  duplicate rows pay too. The kinder variant in brackets caches one lookup per user and skips exact
  repeats, every other row still one write.
- Minimum calls are computed by an oracle in the script that knows every user's starting
  proficiencies, independent of the engine: one SearchUsers probe of the instance size, usernames by
  ListUsers pages of {LIST_USERS_PAGE} (or one SearchUsers each when fewer), one
  DescribePredefinedAttribute per attribute, one ListUserProficiencies per touched user, and one call
  per write API per user whose state really changes under it. The same oracle gives each row's
  status and the instance's final state, which the run must match.
- Shape 6 is an account whose read APIs (ListUsers, DescribeUser, ListUserProficiencies,
  List/DescribePredefinedAttribute(s)) are at 10/s and the rest at 2/s, scaled by {scale:g} like the
  others. The engine is not told any rate: it reads the quotas from the emulator's Service Quotas
  stand-in (one paged ListServiceQuotas) and paces each API at 90% of its own (the default
  headroom). Bursts are not published; the product assumes the documented 5 or the quota value if
  higher, and the emulator's buckets follow the same rule on the scaled rates, so this shape's
  bound is given burst-credited too, and its {QUOTA_WALL_TARGET:g}x target is checked against that
  stricter bound. At 2/s for every API, as before this shape, its 300 ListUserProficiencies alone
  would take 2 min 30 s, three times its quota bound.
- Parse and plan: a fresh process generates the file in memory (checked and planned as `plan` would,
  with Connect's reads answered from memory) so its peak RSS is its own; the traced peak
  (tracemalloc, a second run) is Python allocations during parse and plan only.
"""


SHORT_LEGEND = (
    "LUP ListUserProficiencies, Assoc/Upd/Dis Associate/Update/DisassociateUserProficiencies, "
    "LU ListUsers, SU SearchUsers (one is the instance-size probe), DPA DescribePredefinedAttribute. "
    "Speed-up = row-by-row time / wall at 2/s; in brackets against a kinder row-by-row that caches "
    "lookups per user and skips exact repeats."
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--scale", type=float, default=10.0, help="rate multiplier (default 10: 20/s per API)"
    )
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args(argv)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)
    started, clock = datetime.now(UTC), time.perf_counter()
    report = Report(args.scale)
    print(
        f"Connect emulator at {REAL_RATE * args.scale:g}/s per API, burst {BURST} (x{args.scale:g} Connect)"
    )
    print(f"Machine: {machine()}")
    for number, shape in enumerate(shapes(), start=1):
        bench_shape(number, shape, report)
    cpu_row = bench_cpu(report)
    elapsed = time.perf_counter() - clock
    text = markdown(report, cpu_row, started, elapsed)
    args.results.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"Written to {args.results}. {'Every target met.' if report.passed else 'TARGETS MISSED.'}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
