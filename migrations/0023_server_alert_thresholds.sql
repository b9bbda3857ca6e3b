-- Alert thresholds of the servers on the system state panel. The three
-- shares are fractions (0.85 is 85%); the latency is in milliseconds and
-- applies to each round trip a process measures (Redis, PostgreSQL).
INSERT INTO dashboard_alert_threshold (code, name, comparison, threshold) VALUES
    ('server_cpu_usage', '服务器 CPU 使用率高于', 'above', 0.85),
    ('server_memory_usage', '服务器内存使用率高于', 'above', 0.9),
    ('server_disk_usage', '服务器磁盘使用率高于', 'above', 0.9),
    ('server_latency_ms', '服务器网络延迟（毫秒）高于', 'above', 50)
ON CONFLICT (code) DO NOTHING;
