"""Thin helpers for talking to Dialgrid from Python with stock grpcio (Debian's
python3-grpcio) and stubs generated into build/python by the CMake build."""
import os
import sys

from dialgrid_local import BUILD

sys.path.insert(0, os.path.join(BUILD, "python"))

import grpc  # noqa: E402

# The health and reflection stubs are generated under build/python/grpc/...;
# Debian's grpcio package does not ship them, so graft them onto `grpc`.
grpc.__path__.append(os.path.join(BUILD, "python", "grpc"))

from dialgrid.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc  # noqa: E402,F401
from dialgrid.contacts.v1 import contacts_pb2, contacts_pb2_grpc  # noqa: E402,F401
from dialgrid.compliance.v1 import compliance_pb2, compliance_pb2_grpc  # noqa: E402,F401
from dialgrid.agentstate.v1 import agentstate_pb2, agentstate_pb2_grpc  # noqa: E402,F401
from dialgrid.dialing.v1 import call_events_pb2, dialing_pb2, dialing_pb2_grpc  # noqa: E402,F401
from dialgrid.recording.v1 import recording_pb2, recording_pb2_grpc  # noqa: E402,F401
from dialgrid.type.v1 import date_pb2, dialing_mode_pb2, phone_number_pb2, time_zone_source_pb2  # noqa: E402,F401
# google.rpc.Status and its standard details (ErrorInfo, BadRequest,
# QuotaFailure), generated into build/python/google/rpc: Debian has no
# grpcio-status or googleapis-common-protos for Python. `google` is a namespace
# package, so these sit beside Debian's google.protobuf.
from google.rpc import error_details_pb2, status_pb2  # noqa: E402,F401
from grpc.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402,F401


def bearer(secret):
    return (("authorization", f"Bearer {secret}"),)


def status_of(err):
    """The google.rpc.Status in a grpc.RpcError's grpc-status-details-bin
    trailer, or None (what grpcio-status's rpc_status.from_call returns)."""
    for key, value in (err.trailing_metadata() or ()):
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None


def details_of(err, cls):
    """The details of type cls (e.g. error_details_pb2.BadRequest) in a
    grpc.RpcError's google.rpc.Status, in order; matched by type URL
    (type.googleapis.com/google.rpc.<Name>)."""
    status = status_of(err)
    out = []
    for any_detail in (status.details if status else ()):
        msg = cls()
        if any_detail.Unpack(msg):
            out.append(msg)
    return out


def reason_of(err):
    """The ErrorInfo reason of a grpc.RpcError, or '' if none."""
    for info in details_of(err, error_details_pb2.ErrorInfo):
        return info.reason
    return ""


def call_error(fn, *args, **kwargs):
    """Calls fn expecting a gRPC error; returns (code, reason)."""
    try:
        fn(*args, **kwargs)
    except grpc.RpcError as err:
        return err.code(), reason_of(err)
    raise AssertionError(f"{getattr(fn, '_method', fn)} succeeded but an error was expected")


def list_services_by_reflection(channel):
    """Service names the server lists through gRPC reflection (v1alpha)."""
    from grpc.reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    for response in stub.ServerReflectionInfo(iter([request]), timeout=5):
        return sorted(s.name for s in response.list_services_response.service)
    return []
