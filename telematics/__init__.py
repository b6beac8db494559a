"""Telematics: MQTT GPS ingest -> positions, trips and stops, compliance rules -> alerts."""
