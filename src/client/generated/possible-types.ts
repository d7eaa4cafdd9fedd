
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "CancelOperationResult": [
      "CancelOperationSuccess",
      "NotFoundError",
      "OperationFinishedError",
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
    "Error": [
      "NotFoundError",
      "OperationFinishedError",
      "UnknownKindError",
      "ValidationError"
    ],
    "Node": [
      "Operation"
    ],
    "StartOperationResult": [
      "StartOperationSuccess",
      "UnknownKindError",
      "ValidationError"
    ]
  }
};
      export default result;
    