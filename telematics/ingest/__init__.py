"""MQTT GPS ingest: validate device payloads, order them by event time, store them in
micro-batches, re-evaluate the touched windows and publish what changed.

``payload`` defines the wire format, ``decoding`` turns raw messages into fixes or reasons for
refusal, ``cleaning`` drops duplicates and GPS jumps and snaps standing jitter (vectorised),
``storage`` writes a batch, ``pipeline`` runs the whole chain for one batch (shared by the MQTT
``worker`` and ``replay``).
"""
