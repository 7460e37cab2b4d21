"""The domain: plain functions over the store that say what the product does
(the wizard's steps, canceling, reactivating, plans, calls, the purge, the
sweep's work, the console's reads and insights, what each email says). No
Flask and no RQ: the web and the jobs both call in here."""
