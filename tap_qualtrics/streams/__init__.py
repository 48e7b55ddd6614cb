"""The tap's streams, one module per entity."""

from __future__ import annotations

from tap_qualtrics.streams.questions import QuestionsStream
from tap_qualtrics.streams.responses import ResponsesStream
from tap_qualtrics.streams.surveys import SurveysStream
from tap_qualtrics.streams.users import UsersStream

__all__ = ["QuestionsStream", "ResponsesStream", "SurveysStream", "UsersStream"]
