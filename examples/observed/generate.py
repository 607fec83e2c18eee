#!/usr/bin/env python3
"""Writes the sample observations in examples/observed/ (standard library only, seeded).

An independent stand-in for a real account, not lambdasim: a loss system with a reserved
concurrency of 50 (a request that finds 50 invocations running is throttled), Poisson arrivals
whose rate drifts from 25 to 45 requests/s over two hours, a spike to 700 requests/s for five
minutes at 09:50 UTC (it throttles), an upstream outage with no traffic at 10:35-10:37 (missing
periods), lognormal handler durations (median 120 ms, p99 600 ms) that slow by 30 % under the
spike's load, 0.2 % errors, and cold starts with INIT around 350 ms.

Outputs, in the exact formats of the AWS tools:
  orders-metrics.json  `aws cloudwatch get-metric-data --metric-data-queries file://queries.json
                        --start-time 2026-11-20T09:00:00Z --end-time 2026-11-20T11:00:00Z`
  orders-report.log    `aws logs filter-log-events --log-group-name /aws/lambda/orders
                        --filter-pattern '"REPORT RequestId"' --start-time 1795165200000
                        --end-time 1795165260000 --query 'events[*].[timestamp,message]'
                        --output text` (the first minute)
  orders-insights.csv  a Logs Insights CSV export of `filter @type = "REPORT" | fields
                        @timestamp, @requestId, @duration, @billedDuration, @initDuration,
                        @memorySize, @maxMemoryUsed` (the first 30 s)
"""
import heapq, json, math, random, uuid, datetime

rng = random.Random(20261120)
T0 = 1795165200  # 2026-11-20T09:00:00Z
MINUTES, RESERVED, MEM = 120, 50, 512
Z99 = 2.3263478740408408

def rate(t):
    m = t / 60.0
    if 95 <= m < 98:
        return 0.0
    base = 25 + 20 * m / MINUTES + 4 * math.sin(m / 9.0)
    return 700.0 if 50 <= m < 55 else base

def duration_ms(t):
    slow = 1.3 if 50 <= t / 60.0 < 56 else 1.0
    sigma = math.log(600 / 120) / Z99
    return 120 * slow * math.exp(rng.gauss(0, sigma))

busy = []          # end times of running invocations
idle = 0           # warm environments
per_min = [dict(inv=0, thr=0, err=0, conc=0, dur=[]) for _ in range(MINUTES)]
reports = []       # (end ms, request id, duration, init) of the first minute
t = 0.0
while True:
    r_max = 700.0
    t += rng.expovariate(r_max)
    if t >= MINUTES * 60:
        break
    if rng.random() * r_max > rate(t):
        continue
    while busy and busy[0] <= t:
        heapq.heappop(busy)
        idle += 1
    m = per_min[int(t // 60)]
    if len(busy) >= RESERVED:
        m["thr"] += 1
        continue
    init = None
    if idle > 0:
        idle -= 1
    else:
        init = 350 * math.exp(rng.gauss(0, 0.15))
    d = duration_ms(t)
    end = t + (d + (init or 0)) / 1e3
    heapq.heappush(busy, end)
    m["inv"] += 1
    m["err"] += rng.random() < 0.002
    m["conc"] = max(m["conc"], len(busy))
    m["dur"].append(d)
    if t < 60:
        reports.append((int((T0 + end) * 1000), str(uuid.UUID(int=rng.getrandbits(128), version=4)), d, init))

def iso(s):
    return datetime.datetime.fromtimestamp(s, datetime.timezone.utc).isoformat()

def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]

queries = [("inv", "Invocations", "Sum", lambda m: m["inv"]),
           ("thr", "Throttles", "Sum", lambda m: m["thr"]),
           ("err", "Errors", "Sum", lambda m: m["err"]),
           ("conc", "ConcurrentExecutions", "Maximum", lambda m: m["conc"]),
           ("p50", "Duration", "p50", lambda m: round(pct(m["dur"], 0.50), 2)),
           ("p90", "Duration", "p90", lambda m: round(pct(m["dur"], 0.90), 2)),
           ("p99", "Duration", "p99", lambda m: round(pct(m["dur"], 0.99), 2)),
           ("avg", "Duration", "Average", lambda m: round(sum(m["dur"]) / len(m["dur"]), 2))]
results = []
for qid, metric, stat, f in queries:
    # Lambda sends a metric only for periods with data (no traffic: no point), newest first.
    pts = [(T0 + 60 * k, f(m)) for k, m in enumerate(per_min) if m["inv"] + m["thr"] > 0]
    if metric == "Throttles":
        pts = [p for p in pts if p[1] > 0]
    pts.reverse()
    label = f"orders {metric}" + ("" if stat in ("Sum", "Maximum") else f" {stat}")
    results.append({"Id": qid, "Label": label, "Timestamps": [iso(p[0]) for p in pts],
                    "Values": [float(p[1]) for p in pts], "StatusCode": "Complete"})
with open("orders-metrics.json", "w") as fh:
    json.dump({"MetricDataResults": results, "Messages": []}, fh, indent=4)
    fh.write("\n")

query_file = [{"Id": qid, "Label": f"orders {metric}" + ("" if stat in ("Sum", "Maximum") else f" {stat}"),
               "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": metric,
                                         "Dimensions": [{"Name": "FunctionName", "Value": "orders"}]},
                              "Period": 60, "Stat": stat}, "ReturnData": True}
              for qid, metric, stat, _ in queries]
with open("queries.json", "w") as fh:
    json.dump(query_file, fh, indent=4)
    fh.write("\n")

reports.sort()
with open("orders-report.log", "w") as fh:
    for end, rid, d, init in reports:
        msg = (f"REPORT RequestId: {rid}\tDuration: {d:.2f} ms\tBilled Duration: {math.ceil(d)} ms\t"
               f"Memory Size: {MEM} MB\tMax Memory Used: {rng.randint(78, 96)} MB\t")
        if init is not None:
            msg += f"Init Duration: {init:.2f} ms\t"
        fh.write(f"{end}\t{msg}\n")

with open("orders-insights.csv", "w") as fh:
    fh.write("@timestamp,@requestId,@duration,@billedDuration,@initDuration,@memorySize,@maxMemoryUsed\n")
    for end, rid, d, init in reports:
        if end >= (T0 + 30) * 1000:
            break
        ts = datetime.datetime.fromtimestamp(end / 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        fh.write(f"{ts},{rid},{d:.2f},{math.ceil(d)},{'' if init is None else f'{init:.2f}'},"
                 f"{MEM * 1048576},{rng.randint(78, 96) * 1048576}\n")
