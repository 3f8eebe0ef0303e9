/** TypeBox schemas of the sign-in session and user account routes (docs/api.md, "Signing in"). */
import { type Static, Type } from '@sinclair/typebox';
import { PASSWORD_MAX, PASSWORD_MIN, USER_NAME_MAX, USER_ROLES } from '../security/users.js';
import { RoleSchema } from './schemas-security.js';

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);

export const UserRoleSchema = Type.Union(
  USER_ROLES.map((r) => Type.Literal(r)),
  { description: 'admin, operator, bureau (aggregates only) or enterprise (its own data only)' },
);

const Regions = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  maxItems: 64,
  uniqueItems: true,
  description: 'role bureau: the region codes it is limited to (none = the whole city)',
});
const Enterprise = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'role enterprise: its enterprise code',
});
const Password = Type.String({
  minLength: PASSWORD_MIN,
  maxLength: PASSWORD_MAX,
  description: `at least ${PASSWORD_MIN} characters; only its scrypt hash is stored`,
});

export const SignInBody = Type.Object(
  {
    // Longer than any user name: a longer one is answered as a wrong name, not as a 400.
    name: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }),
  },
  { additionalProperties: false },
);
export type SignInBody = Static<typeof SignInBody>;

export const SessionReply = Type.Object({
  name: Type.String({ description: 'the user, or the name of the token' }),
  role: RoleSchema,
  regions: Type.Array(Type.String()),
  enterprise: Type.Union([Type.String(), Type.Null()]),
  via: Type.Union([Type.Literal('session'), Type.Literal('token')], {
    description: 'session: the wanji_session cookie; token: a bearer token',
  }),
  access: Type.Array(Type.String(), {
    description:
      'the access levels the role reaches (aggregate, fleet, telemetry, manage, admin, child-report)',
  }),
});

export const UserItem = Type.Object({
  name: Type.String(),
  role: UserRoleSchema,
  regions: Type.Array(Type.String()),
  enterprise: Type.Union([Type.String(), Type.Null()]),
  disabled: Type.Boolean(),
  sessions: Type.Integer({ description: 'sessions not yet ended (signed in)' }),
  createdBy: Type.String(),
  createdAt: Time,
  updatedAt: Time,
  lastLoginAt: NullableTime,
});

export const UserList = Type.Object({ users: Type.Array(UserItem) });

export const UserCreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: USER_NAME_MAX }),
    role: UserRoleSchema,
    regions: Type.Optional(Regions),
    enterprise: Type.Optional(Enterprise),
    password: Type.Optional({
      ...Password,
      description: `${Password.description}; left out: one is generated`,
    }),
  },
  { additionalProperties: false },
);
export type UserCreateBody = Static<typeof UserCreateBody>;

export const UserCreated = Type.Object({
  user: UserItem,
  password: Type.Optional(
    Type.String({ description: 'the generated password, when none was given: shown once, never stored' }),
  ),
});

export const UserPatchBody = Type.Object(
  {
    password: Type.Optional({
      ...Password,
      description: `${Password.description}; ends the user's other sessions`,
    }),
    role: Type.Optional(UserRoleSchema),
    regions: Type.Optional(Regions),
    enterprise: Type.Optional(Type.Union([Enterprise, Type.Null()])),
    disabled: Type.Optional(Type.Boolean({ description: "true ends the user's sessions at once" })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserPatchBody = Static<typeof UserPatchBody>;

export const UserParams = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: USER_NAME_MAX }) },
  { additionalProperties: false },
);
export type UserParams = Static<typeof UserParams>;
