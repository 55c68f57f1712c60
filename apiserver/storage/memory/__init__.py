"""In-memory storage for unit tests (kine's memory driver); same contract as every other backend."""
