"""Powertools logger, metrics and tracer: one of each for the whole function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "connect-profiles"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="ConnectProfiles", service=SERVICE)
tracer = Tracer(service=SERVICE)
