"""Resources of the `batch` group: run-to-completion Jobs and their scheduler, CronJobs."""
