-- Loaded by bench-metrics into wrk: after the run, prints wrk's figures as "bench KEY VALUE" lines for the
-- benchmark to read, with latencies in microseconds (wrk's own summary rounds them into text like 1.02ms).
done = function(summary, latency, requests)
  local function line(key, value)
    io.write(string.format("bench %s %d\n", key, value))
  end
  line("requests", summary.requests)
  line("duration_us", summary.duration)
  line("latency_p50_us", latency:percentile(50))
  line("latency_p99_us", latency:percentile(99))
  line("latency_max_us", latency.max)
  line("errors_connect", summary.errors.connect)
  line("errors_read", summary.errors.read)
  line("errors_write", summary.errors.write)
  line("errors_timeout", summary.errors.timeout)
  line("errors_status", summary.errors.status)
end
