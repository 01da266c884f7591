"""Device facts in one low layer: profiles, hardware detection, Jetson tool parsers.

Imports nothing above `edgeseg.errors`/`edgeseg.data`, so `engine`, `runtime`, `bench`, `fleet`
and the CLI may all use it without cycles.
"""
