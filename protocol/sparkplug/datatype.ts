/** Sparkplug B `DataType` enumeration (specification, "Data Types"). */
export const DataType = {
  Unknown: 0,
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  UUID: 15,
  DataSet: 16,
  Bytes: 17,
  File: 18,
  Template: 19,
  PropertySet: 20,
  PropertySetList: 21,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];
export type DataTypeName = keyof typeof DataType;

/** The scalar types Wanji encodes and decodes (DataSet, Template and arrays are skipped). */
export const SCALAR_DATA_TYPES: readonly DataTypeName[] = [
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'UInt8',
  'UInt16',
  'UInt32',
  'UInt64',
  'Float',
  'Double',
  'Boolean',
  'String',
  'DateTime',
  'Text',
  'UUID',
  'Bytes',
  'File',
];

const NAMES = new Map<number, DataTypeName>(
  Object.entries(DataType).map(([name, code]) => [code, name as DataTypeName]),
);

export function dataTypeName(code: number): DataTypeName | undefined {
  return NAMES.get(code);
}

export function isDataTypeName(name: string): name is DataTypeName {
  return Object.hasOwn(DataType, name);
}

/** Which protobuf value field carries a datatype, as the Eclipse Tahu encoders do. */
export type ValueField = 'int' | 'long' | 'float' | 'double' | 'boolean' | 'string' | 'bytes' | 'none';

export function valueFieldOf(type: number): ValueField {
  switch (type) {
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
    case DataType.UInt8:
    case DataType.UInt16:
      return 'int';
    case DataType.Int64:
    case DataType.UInt32:
    case DataType.UInt64:
    case DataType.DateTime:
      return 'long';
    case DataType.Float:
      return 'float';
    case DataType.Double:
      return 'double';
    case DataType.Boolean:
      return 'boolean';
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      return 'string';
    case DataType.Bytes:
    case DataType.File:
      return 'bytes';
    default:
      return 'none';
  }
}
