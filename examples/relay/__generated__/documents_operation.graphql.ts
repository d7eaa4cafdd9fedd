/**
 * @generated SignedSource<<5634bbff812e4025768e69f376099e5c>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import type { ReaderInlineDataFragment } from 'relay-runtime';
export type OperationStatus = "CANCELLED" | "CANCELLING" | "FAILED" | "PENDING" | "RUNNING" | "SUCCEEDED" | "%future added value";
import type { FragmentRefs } from "relay-runtime";
export type documents_operation$data = {
  readonly done: boolean;
  readonly id: string;
  readonly progress: number | null | undefined;
  readonly revision: number;
  readonly status: OperationStatus;
  readonly " $fragmentType": "documents_operation";
};
export type documents_operation$key = {
  readonly " $data"?: documents_operation$data;
  readonly " $fragmentSpreads": FragmentRefs<"documents_operation">;
};

const node: ReaderInlineDataFragment = {
  "kind": "InlineDataFragment",
  "name": "documents_operation"
};

(node as any).hash = "26707a4559d1e198de8904897d404e28";

export default node;
