import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { builder } from './builder.js';

builder.addScalarType('DateTime', DateTimeResolver, {
  description:
    'An instant in time, ISO-8601 in UTC with milliseconds (e.g. 2026-11-28T20:16:11.123Z).',
});
builder.addScalarType('JSON', JSONResolver, { description: 'Any JSON value.' });
