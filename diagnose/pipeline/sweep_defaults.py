"""The sweep's default limits, in a module of their own so that ``diagnose --help`` imports nothing else."""

DEFAULT_JOBS = 16  # links in flight: the work is waiting on servers, not the CPU
DEFAULT_PER_HOST = 2  # requests at once to one host name
DEFAULT_BROWSER_JOBS = 2  # browser pages at once (--browser)
AUTO_PROCESSES_FROM = 200  # rows: a shorter list is done before worker processes would have started
MAX_AUTO_PROCESSES = 4
SWITCH_INTERVAL = 0.0005  # seconds: the GIL switch interval while a sweep's threads wait on sockets (5 ms by default)
