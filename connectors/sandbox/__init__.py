"""Local stand-ins for Stripe, Intercom and PostHog that speak their HTTP protocols.

They run on loopback, check the same auth, page the same way and answer with the same error
shapes, so the real connector code runs against them unchanged; only the base URL differs.
Faults (429s, 500s, slow pages) and malformed records can be injected on demand.
"""
