"""Plain mail handling every layer may use: the one strict address parser (addresses.py) and the
To/Cc → Bcc rewrite (bcc.py). Nothing here knows of queues, holds or rules."""
