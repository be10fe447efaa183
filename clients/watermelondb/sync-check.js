// WatermelonDB's own synchronize() (LokiJS adapter, in Node) against a live Wellspring server.
//
// Usage: WELLSPRING_URL=http://127.0.0.1:5000 node sync-check.js
//
// Steps (issue 15): first sync; server-side changes (a new contact by scan, a message, a
// follow-up, a removed contact, an erased counterpart); a local note edit pushed; a conflict
// (a server edit after the pull: the push answers 409, the app pulls and pushes again). After
// each step the local database must equal the server's view (a first pull made right then).
'use strict'

const assert = require('node:assert/strict')
const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { synchronize } = require('@nozbe/watermelondb/sync')

const BASE = (process.env.WELLSPRING_URL || 'http://127.0.0.1:5000').replace(/\/$/, '')
const PASSWORD = 'correct horse battery staple'
// Evaluated at each answer's own instant (time decays a tie): not compared.
const DERIVED = new Set(['strength', 'going_cold'])

// The app's schema: API.md "Offline-first sync (v1.1)", tables and columns.
const s = (name, isOptional = true) => ({ name, type: 'string', isOptional })
const n = (name, isOptional = true) => ({ name, type: 'number', isOptional })
const b = (name) => ({ name, type: 'boolean' })
const schema = appSchema({
  version: 1,
  tables: [
    tableSchema({
      name: 'profile',
      columns: [s('display_name', false), s('headline'), s('company'), s('title'),
        s('primary_focus'), s('timezone', false), s('email', false), b('email_verified')],
    }),
    tableSchema({
      name: 'events',
      columns: [s('name', false), n('starts_at', false), n('ends_at', false),
        s('timezone', false), s('venue'), s('my_role', false)],
    }),
    tableSchema({
      name: 'sessions',
      columns: [s('event_id', false), s('title', false), s('room'), n('starts_at', false),
        n('ends_at', false), n('capacity')],
    }),
    tableSchema({
      name: 'registrations',
      columns: [s('event_id', false), s('badge_code', false), s('status', false),
        n('checked_in_at')],
    }),
    tableSchema({
      name: 'contacts',
      columns: [s('event_id'), s('user_id', false), s('display_name', false), s('headline'),
        s('company'), s('title'), s('email'), b('met_in_person'), n('met_at', false), s('note'),
        s('tags', false), n('strength', false), b('going_cold'), b('muted'), b('blocked')],
    }),
    tableSchema({
      name: 'messages',
      columns: [s('contact_id', false), s('direction', false), s('kind', false),
        s('body', false), n('sent_at', false), n('read_at')],
    }),
    tableSchema({
      name: 'follow_ups',
      columns: [s('contact_id', false), s('plan_id'), s('kind', false), s('body', false),
        n('send_at', false), s('status', false), s('reason')],
    }),
  ],
})
const TABLES = Object.keys(schema.tables)
const modelClasses = TABLES.map((table) => {
  const Klass = class extends Model {}
  Klass.table = table
  return Klass
})

function newDatabase () {
  const adapter = new LokiJSAdapter({
    schema,
    dbName: `wellspring-check-${Date.now()}`,
    useWebWorker: false,
    useIncrementalIndexedDB: false,
    extraLokiOptions: { autosave: false },
    onSetUpError: (error) => { throw error },
  })
  return new Database({ adapter, modelClasses })
}

// HTTP -----------------------------------------------------------------------------------------

async function call (method, path, { token, body, expect } = {}) {
  const headers = { Accept: 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(BASE + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  const data = text ? JSON.parse(text) : null
  if (expect !== undefined) {
    const ok = Array.isArray(expect) ? expect.includes(response.status) : response.status === expect
    assert.ok(ok, `${method} ${path}: ${response.status} ${text}`)
  }
  return { status: response.status, data }
}

let counter = 0
async function newPerson (name) {
  counter += 1
  const email = `wm-${Date.now()}-${counter}@example.test`
  const { data } = await call('POST', '/v1/auth/register', {
    body: { email, password: PASSWORD, display_name: name }, expect: 201,
  })
  return { token: data.access_token, id: data.user.id, name }
}

class SyncConflict extends Error {}

const synced = new WeakSet()

async function syncFor (person, database, { afterPull } = {}) {
  await synchronize({
    database,
    // The first pull sends everything as `created`; later ones send `updated` only.
    sendCreatedAsUpdated: synced.has(database),
    pullChanges: async ({ lastPulledAt, schemaVersion }) => {
      const query = `schema_version=${schemaVersion || 1}` +
        (lastPulledAt ? `&last_pulled_at=${lastPulledAt}` : '')
      const { data } = await call('GET', `/v1/sync/pull?${query}`, { token: person.token, expect: 200 })
      if (afterPull) await afterPull()
      return { changes: data.changes, timestamp: data.timestamp }
    },
    pushChanges: async ({ changes, lastPulledAt }) => {
      const { status, data } = await call('POST', `/v1/sync/push?last_pulled_at=${lastPulledAt}`, {
        token: person.token, body: changes,
      })
      if (status === 409 && data.reason === 'sync_conflict') throw new SyncConflict(data.detail)
      assert.equal(status, 204, JSON.stringify(data))
    },
  })
  synced.add(database)
}

// The app's loop: on a conflict, pull and push again.
async function syncUntilDone (person, database, options) {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      await syncFor(person, database, attempt === 0 ? options : {})
      return attempt
    } catch (error) {
      if (!(error instanceof SyncConflict)) throw error
    }
  }
  throw new Error('still conflicting after 5 attempts')
}

// Comparing ------------------------------------------------------------------------------------

function clean (row) {
  const out = {}
  for (const [key, value] of Object.entries(row)) {
    if (key.startsWith('_') || key.startsWith('$') || key === 'meta' || DERIVED.has(key)) continue
    out[key] = value
  }
  return out
}

async function localView (database) {
  const view = {}
  for (const table of TABLES) {
    const records = await database.get(table).query().fetch()
    view[table] = Object.fromEntries(records.map((r) => [r.id, clean(r._raw)]))
  }
  return view
}

async function serverView (person) {
  const { data } = await call('GET', '/v1/sync/pull?schema_version=1', { token: person.token, expect: 200 })
  const view = {}
  for (const table of TABLES) {
    view[table] = Object.fromEntries(data.changes[table].created.map((r) => [r.id, clean(r)]))
  }
  return view
}

async function assertSame (step, person, database) {
  const local = await localView(database)
  const server = await serverView(person)
  assert.deepStrictEqual(local, server, `after "${step}" the local database differs from the server`)
  const counts = TABLES.map((t) => `${t}=${Object.keys(local[t]).length}`).join(' ')
  console.log(`ok - ${step} (${counts})`)
}

async function findContact (database, userId) {
  const contacts = await database.get('contacts').query().fetch()
  const found = contacts.find((c) => c._raw.user_id === userId)
  assert.ok(found, `no local contact for ${userId}`)
  return found
}

// The steps ------------------------------------------------------------------------------------

async function main () {
  const organizer = await newPerson('Olga Organizer')
  const ada = await newPerson('Ada')
  const [bo, cy, dee, eve] = await Promise.all(['Bo', 'Cy', 'Dee', 'Eve'].map(newPerson))
  const now = Date.now()
  const { data: event } = await call('POST', '/v1/events', {
    token: organizer.token,
    expect: 201,
    body: {
      name: 'Offline sync check',
      starts_at: new Date(now - 3600e3).toISOString(),
      ends_at: new Date(now + 8 * 3600e3).toISOString(),
      timezone: 'UTC',
    },
  })
  const badges = {}
  for (const person of [ada, bo, cy, dee, eve]) {
    const { data } = await call('POST', `/v1/events/${event.id}/registrations`, {
      token: person.token, expect: [200, 201],
    })
    badges[person.id] = data.badge_code
  }
  const scan = (scanner, other) => call('POST', '/v1/contacts/scan', {
    token: scanner.token, body: { badge: badges[other.id], event_id: event.id }, expect: [200, 201],
  })
  const contactOf = {}
  for (const other of [bo, dee, eve]) contactOf[other.id] = (await scan(ada, other)).data.id

  const database = newDatabase()
  await syncUntilDone(ada, database)
  await assertSame('first sync', ada, database)

  // Server-side changes.
  await call('POST', `/v1/events/${event.id}/sessions`, {
    token: organizer.token,
    expect: 201,
    body: {
      title: 'Keynote',
      room: 'A',
      starts_at: new Date(now + 3600e3).toISOString(),
      ends_at: new Date(now + 2 * 3600e3).toISOString(),
    },
  })
  contactOf[cy.id] = (await scan(ada, cy)).data.id // a new contact by scan
  const boSide = (await scan(bo, ada)).data.id
  await call('POST', `/v1/contacts/${boSide}/messages`, {
    token: bo.token, body: { body: 'Great talk, Ada!', kind: 'thank_you' }, expect: 201,
  })
  const deeSide = (await scan(dee, ada)).data.id
  await call('POST', `/v1/contacts/${deeSide}/messages`, {
    token: dee.token, body: { body: 'Hello from Dee', kind: 'thank_you' }, expect: 201,
  })
  await syncUntilDone(ada, database)
  assert.equal((await database.get('messages').query().fetch()).length, 2)
  await call('POST', `/v1/contacts/${contactOf[cy.id]}/follow-ups`, {
    token: ada.token,
    body: { send_at: new Date(now + 2 * 86400e3).toISOString(), body: 'Coffee next week?' },
    expect: 201,
  })
  await call('DELETE', `/v1/contacts/${contactOf[eve.id]}`, { token: ada.token, expect: 204 })
  await call('DELETE', '/v1/me', { token: dee.token, expect: 204 }) // an erased counterpart
  await syncUntilDone(ada, database)
  await assertSame('server-side changes', ada, database)
  const messages = await database.get('messages').query().fetch()
  assert.deepEqual(messages.map((m) => m._raw.body), ['Great talk, Ada!'])
  assert.equal((await database.get('follow_ups').query().fetch()).length, 1)
  await assert.rejects(database.get('contacts').find(contactOf[eve.id]))

  // A local note edit, pushed.
  const boContact = await findContact(database, bo.id)
  await database.write(() => boContact.update((c) => { c._setRaw('note', 'Sails a catamaran') }))
  await syncUntilDone(ada, database)
  const { data: boOnServer } = await call('GET', `/v1/contacts/${boContact.id}`, { token: ada.token, expect: 200 })
  assert.equal(boOnServer.note, 'Sails a catamaran')
  await assertSame('local note edit pushed', ada, database)

  // A conflict: the server changes the contact after the app pulled; the push is refused, the
  // app pulls (keeping its own edited column) and pushes again.
  const cyContact = await findContact(database, cy.id)
  await database.write(() => cyContact.update((c) => { c._setRaw('note', 'Met at the door') }))
  const attempts = await syncUntilDone(ada, database, {
    afterPull: () => call('PATCH', `/v1/contacts/${cyContact.id}`, {
      token: ada.token, body: { tags: ['from-the-web'] }, expect: 200,
    }),
  })
  assert.equal(attempts, 1, 'the first push should have met a sync_conflict')
  const { data: cyOnServer } = await call('GET', `/v1/contacts/${cyContact.id}`, { token: ada.token, expect: 200 })
  assert.equal(cyOnServer.note, 'Met at the door')
  assert.deepEqual(cyOnServer.tags, ['from-the-web'])
  await assertSame('conflict: pulled and pushed again', ada, database)
  console.log('all WatermelonDB sync steps passed')
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
