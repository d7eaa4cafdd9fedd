import { builder } from './builder.js';
import './scalars.js';
import './operation.js';
import './events.js';
import './errors.js';
import './node.js';
import './viewer.js';
import './kinds.js';
import './wait.js';
import './mutations.js';
import './subscriptions.js';
import './watch.js';

builder.queryType({});
builder.mutationType({});

/** The executable schema of the API. */
export const schema = builder.toSchema({ sortSchema: false });
