#!/usr/bin/env python3
"""Peer benchmarks: the Python stack services like the one microbot replaces
are built with — APScheduler 3.x CronTrigger/IntervalTrigger jobs, and a
croniter polling loop (how the seed's service scheduled) — on the same
workloads as microbot's bench (1: schedules held, 2: fire precision,
5: memory over time). Each run prints one JSON object per line.

Usage: peer_bench.py held N | precision N | soak N SECONDS | croniter-soak N HOURS
"""

import gc
import json
import os
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone


def rss_bytes():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def emit(**fields):
    print(json.dumps(fields), flush=True)


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def crons(i):
    """The same mix microbot's bench uses: half cron, half interval."""
    minute = i % 60
    hour = (i // 60) % 24
    return {"minute": str(minute), "hour": str(hour)}


def held(n):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger
    from apscheduler.triggers.date import DateTrigger

    gc.collect()
    base = rss_bytes()
    t0 = time.perf_counter()
    sched = BackgroundScheduler(timezone="UTC")
    for i in range(n):
        if i % 2 == 0:
            trig = CronTrigger(timezone="UTC", **crons(i))
        else:
            trig = IntervalTrigger(minutes=5 + i % 55, timezone="UTC")
        sched.add_job(noop, trig, id=str(i))
    fired = threading.Event()
    fire_at = {}

    def sentinel():
        fire_at["t"] = time.perf_counter()
        fired.set()

    # Like microbot's sentinel: already due when the scheduler starts, so
    # start -> first fire includes loading every job.
    sched.add_job(
        sentinel,
        DateTrigger(run_date=datetime.now(timezone.utc)),
        id="sentinel",
        misfire_grace_time=None,
    )
    sched.start()
    ready = time.perf_counter()
    fired.wait(600)
    time.sleep(3)
    gc.collect()
    rss = rss_bytes()
    emit(
        peer="apscheduler",
        workload="held",
        n=n,
        rss_per_schedule_bytes=(rss - base) / n,
        start_to_ready_s=ready - t0,
        start_to_first_fire_s=(fire_at["t"] - t0) if "t" in fire_at else None,
    )
    sched.shutdown(wait=False)


def noop():
    pass


def precision(n):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    sched = BackgroundScheduler(timezone="UTC")
    sched.start()
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=10)
    due_ts = due.timestamp()
    lateness = []
    lock = threading.Lock()
    done = threading.Event()

    def job():
        late = (time.time() - due_ts) * 1000
        with lock:
            lateness.append(late)
            if len(lateness) == n:
                done.set()

    for i in range(n):
        sched.add_job(job, DateTrigger(run_date=due), id=str(i))
    done.wait(max(30, 10 + n / 100))
    sched.shutdown(wait=False)
    emit(
        peer="apscheduler",
        workload="precision",
        n=n,
        fired=len(lateness),
        missed=n - len(lateness),
        p50_ms=pct(lateness, 50),
        p99_ms=pct(lateness, 99),
        max_ms=max(lateness) if lateness else None,
    )


def soak(n, seconds):
    """Real time only: APScheduler has no injectable clock."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    sched = BackgroundScheduler(timezone="UTC", job_defaults={"misfire_grace_time": 30})
    for i in range(n):
        sched.add_job(noop, IntervalTrigger(seconds=1, timezone="UTC"), id=str(i))
    sched.start()
    samples = []
    start = time.time()
    while time.time() - start < seconds:
        time.sleep(max(1, seconds / 20))
        samples.append(rss_bytes())
    sched.shutdown(wait=False)
    emit(
        peer="apscheduler",
        workload="soak",
        n=n,
        seconds=seconds,
        rss_first_mb=samples[0] / 1e6,
        rss_last_mb=samples[-1] / 1e6,
        growth_after_warmup_mb=(samples[-1] - samples[len(samples) // 4]) / 1e6,
    )


def croniter_soak(n, hours):
    """The seed's way: poll every minute, ask croniter for each template's next
    time, on a simulated clock (so 24 hours take minutes)."""
    from croniter import croniter

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    templates = [("*/5 * * * *" if i % 2 else "%d * * * *" % (i % 60)) for i in range(n)]
    nxt = [croniter(expr, now).get_next(datetime) for expr in templates]
    sent = 0
    samples = []
    minutes = hours * 60
    for m in range(minutes):
        now = now + timedelta(minutes=1)
        for i, expr in enumerate(templates):
            if nxt[i] <= now:
                sent += 1
                nxt[i] = croniter(expr, now).get_next(datetime)
        if m % 60 == 0:
            samples.append(rss_bytes())
    emit(
        peer="croniter-poll",
        workload="soak",
        n=n,
        simulated_hours=hours,
        sends=sent,
        rss_first_mb=samples[0] / 1e6,
        rss_last_mb=samples[-1] / 1e6,
        growth_after_warmup_mb=(samples[-1] - samples[len(samples) // 4]) / 1e6,
    )


def croniter_precision(n):
    """A 1-second polling loop with croniter, n templates due at one instant."""
    from croniter import croniter

    due = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
    expr = "%d %d * * *" % (due.minute, due.hour)
    nxt = [croniter(expr, due - timedelta(seconds=1)).get_next(datetime) for _ in range(n)]
    lateness = []
    due_ts = due.timestamp()
    while len(lateness) < n:
        now = datetime.now(timezone.utc)
        for i in range(n):
            if nxt[i] is not None and nxt[i] <= now:
                lateness.append((time.time() - due_ts) * 1000)
                nxt[i] = None
        if len(lateness) < n:
            time.sleep(1)
    emit(
        peer="croniter-poll",
        workload="precision",
        n=n,
        fired=len(lateness),
        p50_ms=pct(lateness, 50),
        p99_ms=pct(lateness, 99),
        max_ms=max(lateness),
    )


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, n = argv[1], int(argv[2])
    if cmd == "held":
        held(n)
    elif cmd == "precision":
        precision(n)
    elif cmd == "croniter-precision":
        croniter_precision(n)
    elif cmd == "soak":
        soak(n, int(argv[3]))
    elif cmd == "croniter-soak":
        croniter_soak(n, int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
