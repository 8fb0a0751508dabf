import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LessonPublished(_message.Message):
    __slots__ = ("lesson_id", "course_id", "title", "teacher_id", "published_at")
    LESSON_ID_FIELD_NUMBER: _ClassVar[int]
    COURSE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEACHER_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    lesson_id: str
    course_id: str
    title: str
    teacher_id: str
    published_at: _timestamp_pb2.Timestamp
    def __init__(self, lesson_id: _Optional[str] = ..., course_id: _Optional[str] = ..., title: _Optional[str] = ..., teacher_id: _Optional[str] = ..., published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LearningPulseCreated(_message.Message):
    __slots__ = ("pulse_id", "lesson_id", "author_id", "prompt")
    PULSE_ID_FIELD_NUMBER: _ClassVar[int]
    LESSON_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    pulse_id: str
    lesson_id: str
    author_id: str
    prompt: str
    def __init__(self, pulse_id: _Optional[str] = ..., lesson_id: _Optional[str] = ..., author_id: _Optional[str] = ..., prompt: _Optional[str] = ...) -> None: ...

class LearningPulseReplied(_message.Message):
    __slots__ = ("pulse_id", "reply_id", "learner_id", "answer")
    PULSE_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_ID_FIELD_NUMBER: _ClassVar[int]
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    pulse_id: str
    reply_id: str
    learner_id: str
    answer: str
    def __init__(self, pulse_id: _Optional[str] = ..., reply_id: _Optional[str] = ..., learner_id: _Optional[str] = ..., answer: _Optional[str] = ...) -> None: ...

class QuizAnswer(_message.Message):
    __slots__ = ("question_id", "answer", "correct")
    QUESTION_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    question_id: str
    answer: str
    correct: bool
    def __init__(self, question_id: _Optional[str] = ..., answer: _Optional[str] = ..., correct: _Optional[bool] = ...) -> None: ...

class QuizSubmitted(_message.Message):
    __slots__ = ("quiz_id", "lesson_id", "learner_id", "answers", "score", "max_score")
    QUIZ_ID_FIELD_NUMBER: _ClassVar[int]
    LESSON_ID_FIELD_NUMBER: _ClassVar[int]
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    quiz_id: str
    lesson_id: str
    learner_id: str
    answers: _containers.RepeatedCompositeFieldContainer[QuizAnswer]
    score: int
    max_score: int
    def __init__(self, quiz_id: _Optional[str] = ..., lesson_id: _Optional[str] = ..., learner_id: _Optional[str] = ..., answers: _Optional[_Iterable[_Union[QuizAnswer, _Mapping]]] = ..., score: _Optional[int] = ..., max_score: _Optional[int] = ...) -> None: ...

class BadgeAwarded(_message.Message):
    __slots__ = ("badge_id", "learner_id", "reason")
    BADGE_ID_FIELD_NUMBER: _ClassVar[int]
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    badge_id: str
    learner_id: str
    reason: str
    def __init__(self, badge_id: _Optional[str] = ..., learner_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PaymentProcessed(_message.Message):
    __slots__ = ("payment_id", "payer_id", "amount_cents", "currency", "product_id")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    payer_id: str
    amount_cents: int
    currency: str
    product_id: str
    def __init__(self, payment_id: _Optional[str] = ..., payer_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., currency: _Optional[str] = ..., product_id: _Optional[str] = ...) -> None: ...
