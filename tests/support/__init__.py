"""Real processes for tests: etcd and the Pilothouse server, each on a free loopback port."""
