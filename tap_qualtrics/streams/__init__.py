"""The tap's streams, one module per entity."""

from __future__ import annotations

from tap_qualtrics.streams.directory import (
    ContactsStream,
    DirectoriesStream,
    MailingListContactsStream,
    MailingListsStream,
)
from tap_qualtrics.streams.distributions import DistributionContactsStream, DistributionsStream
from tap_qualtrics.streams.organization import DivisionsStream, GroupsStream
from tap_qualtrics.streams.questions import QuestionsStream
from tap_qualtrics.streams.response_answers import ResponseAnswersStream, ResponseEmbeddedDataStream
from tap_qualtrics.streams.response_deletions import (
    LiveResponseIdsStream,
    ResponseDeletionChecksStream,
)
from tap_qualtrics.streams.responses import ResponsesStream
from tap_qualtrics.streams.responses_in_progress import (
    ResponseInProgressAnswersStream,
    ResponseInProgressEmbeddedDataStream,
    ResponsesInProgressStream,
)
from tap_qualtrics.streams.survey_structure import (
    BlocksStream,
    ExportColumnsStream,
    QuestionChoicesStream,
    SubQuestionsStream,
)
from tap_qualtrics.streams.surveys import SurveysStream
from tap_qualtrics.streams.users import UsersStream

__all__ = [
    "BlocksStream",
    "ContactsStream",
    "DirectoriesStream",
    "DistributionContactsStream",
    "DistributionsStream",
    "DivisionsStream",
    "ExportColumnsStream",
    "GroupsStream",
    "LiveResponseIdsStream",
    "MailingListContactsStream",
    "MailingListsStream",
    "QuestionChoicesStream",
    "QuestionsStream",
    "ResponseAnswersStream",
    "ResponseDeletionChecksStream",
    "ResponseEmbeddedDataStream",
    "ResponseInProgressAnswersStream",
    "ResponseInProgressEmbeddedDataStream",
    "ResponsesInProgressStream",
    "ResponsesStream",
    "SubQuestionsStream",
    "SurveysStream",
    "UsersStream",
]
