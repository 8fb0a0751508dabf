import {readFileSync} from 'node:fs';
import {createFileRegistry, fromBinary} from '@bufbuild/protobuf';
import {FileDescriptorSetSchema} from '@bufbuild/protobuf/wkt';

/** The descriptor set of the API (and its imports): what server reflection serves. */
export const descriptorSetUrl = new URL('../gen/descriptor.binpb', import.meta.url);

/** The API's schemas, for strict decoding of requests and proto3 JSON of events. */
export const protocolSchemas = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetUrl)));
