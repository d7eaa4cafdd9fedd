
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "CancelOperationResult": [
      "CancelOperationSuccess",
      "NotFoundError",
      "OperationFinishedError",
      "ValidationError"
    ],
    "CreateWatchTokenResult": [
      "CreateWatchTokenSuccess",
      "NotFoundError",
      "ValidationError"
    ],
    "Error": [
      "NotFoundError",
      "OperationFinishedError",
      "RateLimitedError",
      "UnknownKindError",
      "ValidationError"
    ],
    "Node": [
      "Operation"
    ],
    "RenewSessionResult": [
      "RenewSessionSuccess",
      "ValidationError"
    ],
    "RetryOperationResult": [
      "NotFoundError",
      "RateLimitedError",
      "RetryOperationSuccess",
      "ValidationError"
    ],
    "StartOperationResult": [
      "RateLimitedError",
      "StartOperationSuccess",
      "UnknownKindError",
      "ValidationError"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "CancelOperationResult": [
      "CancelOperationSuccess",
      "NotFoundError",
      "OperationFinishedError",
      "ValidationError"
    ],
    "CreateWatchTokenResult": [
      "CreateWatchTokenSuccess",
      "NotFoundError",
      "ValidationError"
    ],
    "Error": [
      "NotFoundError",
      "OperationFinishedError",
      "RateLimitedError",
      "UnknownKindError",
      "ValidationError"
    ],
    "Node": [
      "Operation"
    ],
    "RenewSessionResult": [
      "RenewSessionSuccess",
      "ValidationError"
    ],
    "RetryOperationResult": [
      "NotFoundError",
      "RateLimitedError",
      "RetryOperationSuccess",
      "ValidationError"
    ],
    "StartOperationResult": [
      "RateLimitedError",
      "StartOperationSuccess",
      "UnknownKindError",
      "ValidationError"
    ]
  }
};
      export default result;
    