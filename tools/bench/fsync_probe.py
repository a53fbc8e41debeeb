#!/usr/bin/python3
"""fdatasync latency of this machine's disk, the floor under every durable
acknowledgement (Redis with `appendfsync always` fdatasyncs its AOF before it
answers a write).

Appends `--bytes` to a file and fdatasyncs it, `--gap_us` apart, for
`--seconds`; prints percentiles. Run it alone (idle) and while a benchmark
loads the machine to see what a durable write costs under that load.
"""
import argparse
import os
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--bytes", type=int, default=1500, help="bytes appended before each fdatasync")
    ap.add_argument("--gap_us", type=int, default=400, help="pause between writes")
    ap.add_argument("--dir", default="/var/tmp", help="a directory on the disk to probe")
    a = ap.parse_args()
    fd, path = tempfile.mkstemp(dir=a.dir)
    lat = []
    try:
        end = time.monotonic() + a.seconds
        while time.monotonic() < end:
            os.write(fd, b"x" * a.bytes)
            t = time.perf_counter()
            os.fdatasync(fd)
            lat.append((time.perf_counter() - t) * 1e6)
            time.sleep(a.gap_us / 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    n = len(lat)
    pick = lambda q: lat[min(n - 1, int(n * q))]
    print("fdatasync of %d-byte appends: n=%d p50 %.0f us p90 %.0f us p99 %.0f us p99.9 %.0f us max %.0f us"
          % (a.bytes, n, pick(0.5), pick(0.9), pick(0.99), pick(0.999), lat[-1]))


if __name__ == "__main__":
    main()
