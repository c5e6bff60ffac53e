#include "common/result.h"

namespace fbg {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidRequest:
      return "INVALID_REQUEST";
    case ErrorCode::Unauthenticated:
      return "UNAUTHENTICATED";
    case ErrorCode::Forbidden:
      return "FORBIDDEN";
    case ErrorCode::NotFound:
      return "NOT_FOUND";
    case ErrorCode::AlreadyExists:
      return "ALREADY_EXISTS";
    case ErrorCode::OrderNotCancelable:
      return "ORDER_NOT_CANCELABLE";
    case ErrorCode::AccountBusy:
      return "ACCOUNT_BUSY";
    case ErrorCode::PayloadTooLarge:
      return "PAYLOAD_TOO_LARGE";
    case ErrorCode::InsufficientFunds:
      return "INSUFFICIENT_FUNDS";
    case ErrorCode::InsufficientPosition:
      return "INSUFFICIENT_POSITION";
    case ErrorCode::UnsupportedOrder:
      return "UNSUPPORTED_ORDER";
    case ErrorCode::IdempotencyKeyReused:
      return "IDEMPOTENCY_KEY_REUSED";
    case ErrorCode::Unavailable:
      return "UNAVAILABLE";
    case ErrorCode::Internal:
      return "INTERNAL";
  }
  return "INTERNAL";
}

int errorHttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidRequest:
      return 400;
    case ErrorCode::Unauthenticated:
      return 401;
    case ErrorCode::Forbidden:
      return 403;
    case ErrorCode::NotFound:
      return 404;
    case ErrorCode::AlreadyExists:
    case ErrorCode::OrderNotCancelable:
    case ErrorCode::AccountBusy:
      return 409;
    case ErrorCode::PayloadTooLarge:
      return 413;
    case ErrorCode::InsufficientFunds:
    case ErrorCode::InsufficientPosition:
    case ErrorCode::UnsupportedOrder:
    case ErrorCode::IdempotencyKeyReused:
      return 422;
    case ErrorCode::Unavailable:
      return 503;
    case ErrorCode::Internal:
      return 500;
  }
  return 500;
}

}  // namespace fbg
