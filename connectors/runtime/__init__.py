"""What every connector shares: the source contract, offset store, producer, retry, dead letters."""
