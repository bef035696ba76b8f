"""Which engine a command runs on: in memory (pandas/NumPy, the default) or Dask
(:mod:`analysis.dask_engine`) for Parquet data sets too large for one process.

``--engine auto`` (the default) takes Dask when DATA is a folder or a glob of Parquet files, or
Parquet data larger than :data:`analysis.dask_engine.AUTO_DASK_BYTES` on disk; ``--engine dask``
always. Dask runs on a ``LocalCluster`` of worker processes started for the command, or on the
cluster whose scheduler ``--scheduler tcp://HOST:8786`` names. Nothing here imports Dask unless
the Dask engine is chosen.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from analysis.errors import AnalysisInputError

ENGINES = ("auto", "memory", "dask")
# a local worker process's memory limit: the benchmark's bound per worker
LOCAL_WORKER_MEMORY = "2GB"


def engine_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("engine")
    g.add_argument("--engine", default="auto", choices=ENGINES,
                   help="'memory': pandas in this process; 'dask': partition by partition on "
                        "Dask (a folder or glob of Parquet files); 'auto' (default): dask for a "
                        "folder, a glob or Parquet data over 1 GiB, else memory")
    g.add_argument("--scheduler", metavar="tcp://HOST:8786",
                   help="run the Dask engine on this cluster's scheduler (default: a "
                        "LocalCluster of worker processes on this machine)")
    g.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of the LocalCluster (default: the number of cores)")
    return p


def uses_dask(args) -> bool:
    """Whether the command runs on the Dask engine (see the module docstring)."""
    from analysis.commands.options import data_sources
    from analysis.dask_engine import AUTO_DASK_BYTES, data_bytes, is_partitioned, parquet_files

    if not all(isinstance(s, str) for s in data_sources(args)):
        if args.engine == "dask" or args.scheduler:
            raise AnalysisInputError("--database is analysed in memory; the Dask engine reads a "
                                     "folder or glob of Parquet files (leave out --engine dask "
                                     "and --scheduler)")
        return False
    data = args.data if isinstance(args.data, str) else args.data[0]
    partitioned = [d for d in ([args.data] if isinstance(args.data, str) else args.data)
                   if is_partitioned(d)]
    if len(args.data) > 1 and not isinstance(args.data, str):
        # several DATA files are pooled surveys (analysis.pooling), an in-memory design
        if args.engine == "dask" or args.scheduler or partitioned:
            raise AnalysisInputError(
                "several DATA files are pooled in memory; the Dask engine reads one folder or "
                "glob of Parquet files (put the surveys' files in one folder, each with its own "
                "strata and PSU ids)")
        return False
    if args.engine == "memory":
        if partitioned:
            raise AnalysisInputError(f"{data}: a folder or glob of Parquet files is read by "
                                     "the Dask engine; leave out --engine memory")
        return False
    if args.engine == "dask" or args.scheduler or partitioned:
        return True
    path = Path(data)
    return (path.suffix.lower() in (".parquet", ".pq") and path.exists()
            and data_bytes(parquet_files(path)) > AUTO_DASK_BYTES)


@contextlib.contextmanager
def dask_client(args):
    """A ``dask.distributed`` client for the command: ``args.client`` when the caller has one
    open, else one connected to ``--scheduler``, or to a ``LocalCluster`` started (and closed)
    here."""
    if getattr(args, "client", None) is not None:
        # a client the caller opened (the report runs several analyses on one cluster)
        yield args.client
        return
    try:
        import dask
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise AnalysisInputError("the Dask engine needs dask[dataframe,distributed]: "
                                 "pip install -e '.[dask]'") from None
    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout="10s")
        except OSError as exc:
            raise AnalysisInputError(f"--scheduler {args.scheduler}: cannot reach the Dask "
                                     f"scheduler ({' '.join(str(exc).split())})") from None
        with client, dask.config.set(scheduler=client):
            yield client
        return
    workers = args.workers or os.cpu_count() or 1
    if workers < 1:
        raise AnalysisInputError(f"--workers {workers}: give 1 or more")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      memory_limit=LOCAL_WORKER_MEMORY, dashboard_address=None) as cluster, \
            Client(cluster) as client, dask.config.set(scheduler=client):
        yield client
