
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
    "StartOperationResult": [
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
    "StartOperationResult": [
      "StartOperationSuccess",
      "UnknownKindError",
      "ValidationError"
    ]
  }
};
      export default result;
    