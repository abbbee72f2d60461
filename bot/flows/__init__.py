"""Survey flows: the data model, the YAML loader and its schema, answer parsers, and the pure
step engine that turns a respondent's message into the next state, replies and effects."""
from .engine import AnswerCleared, AnswerSet, Effect, Env, FlowState, StepResult, start, step
from .loader import FlowError, FlowInvalid, flow_from_source, load_flow_file, load_flow_text, validate_flow_file
from .model import Flow, Question

__all__ = ["AnswerCleared", "AnswerSet", "Effect", "Env", "Flow", "FlowError", "FlowInvalid", "FlowState",
           "Question", "StepResult", "flow_from_source", "load_flow_file", "load_flow_text", "start", "step",
           "validate_flow_file"]
