// The peak-day scenario for k6 (https://grafana.com/docs/k6/): parents
// arrive at a rising rate, sign in through the identity simulator, post a
// registration with a valid generated resident ID and poll the receipt
// until the back office has stored it (已入库).
//
// Start a stack first (`make run`, or the stack of loadtest/bench.sh), with
// EDGE_TRUST_FORWARDED_FOR=true on the edge: every virtual parent sends its
// own X-Forwarded-For address, as a load balancer in front of the edge
// would, because the edge throttles anonymous requests (the sign-in steps)
// per address, 5 per second. Then:
//
//   k6 run -e EDGE_URL=http://127.0.0.1:8080 loadtest/k6/peak.js
//
// Environment:
//   EDGE_URL        the edge's base URL (default http://127.0.0.1:8080); it
//                   must be the edge's EDGE_PUBLIC_URL, because the sign-in
//                   callback goes there
//   PEAK_RATE       parents arriving per second at the peak (default 1000;
//                   with iterations of about a second that keeps about
//                   1,000 parents signed in at once)
//   RAMP            time to reach the peak (default 1m)
//   HOLD            time at the peak (default 2m)
//   FIRST_CHILD     number of the first generated child (default 0). Raise
//                   it for a second run against the same stack, because
//                   the first run's children are registered already (409).
//   POLL_INTERVAL   seconds between receipt polls (default 0.5)
//   POLL_TIMEOUT    seconds to wait for 已入库 (default 30)
//
// NOTE: k6 is not installed on the project's machines, so this script was
// written against k6's documented API (v0.49 and later) and has not been run.
import http from 'k6/http';
import exec from 'k6/execution';
import { check, fail, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const EDGE_URL = (__ENV.EDGE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const PEAK_RATE = parseInt(__ENV.PEAK_RATE || '1000', 10);
const RAMP = __ENV.RAMP || '1m';
const HOLD = __ENV.HOLD || '2m';
const FIRST_CHILD = parseInt(__ENV.FIRST_CHILD || '0', 10);
const POLL_INTERVAL = parseFloat(__ENV.POLL_INTERVAL || '0.5');
const POLL_TIMEOUT = parseFloat(__ENV.POLL_TIMEOUT || '30');

export const options = {
  scenarios: {
    peak_day: {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      preAllocatedVUs: PEAK_RATE,
      maxVUs: PEAK_RATE * 3,
      stages: [
        { target: PEAK_RATE, duration: RAMP },
        { target: PEAK_RATE, duration: HOLD },
        { target: 0, duration: '30s' },
      ],
      gracefulStop: `${Math.ceil(POLL_TIMEOUT) + 10}s`,
    },
  },
  thresholds: {
    // The registration itself: accepted (202) quickly even at the peak.
    'http_req_duration{step:register}': ['p(95)<100', 'p(99)<250'],
    'http_req_duration{step:sign_in}': ['p(95)<200'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
    // From the 202 to 已入库: the back office keeps up with the edge.
    time_to_recorded: ['p(95)<5000'],
  },
};

const timeToRecorded = new Trend('time_to_recorded', true);
const notRecorded = new Counter('receipts_not_recorded');

// Statuses at or after 已入库 (recorded); see docs/edge-api.md.
const RECORDED = ['recorded', 'verified', 'needs_manual_verification'];

// GB 11643-1999: the check character of an 18-character resident ID is
// computed from the first 17 digits with these weights, modulo 11.
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARACTERS = '10X98765432';

function checkCharacter(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i];
  }
  return CHECK_CHARACTERS[sum % 11];
}

function pad(value, width) {
  return String(value).padStart(width, '0');
}

function ymd(date) {
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1, 2)}${pad(date.getUTCDate(), 2)}`;
}

function isoDate(date) {
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
}

// residentID builds a valid resident ID: region, birth date, a three-digit
// sequence whose last digit is odd for a boy, and the check character.
function residentID(region, birth, sequence, sex) {
  const order = (sequence % 500) * 2 + (sex === 'M' ? 1 : 0);
  const first17 = `${region}${ymd(birth)}${pad(order, 3)}`;
  return first17 + checkCharacter(first17);
}

// getWithRetry reads a catalogue URL in setup. When the edge throttles the
// request (429), it waits for the Retry-After time and retries.
function getWithRetry(url) {
  for (let attempt = 1; attempt <= 10; attempt++) {
    const response = http.get(url, { tags: { step: 'setup' } });
    if (response.status === 200) {
      return response.json();
    }
    if (response.status !== 429) {
      fail(`GET ${url}: status ${response.status}: ${String(response.body).slice(0, 200)}`);
    }
    sleep(parseInt(response.headers['Retry-After'] || '1', 10));
  }
  fail(`GET ${url}: still throttled after 10 attempts`);
  return null;
}

// setup reads the enrolment year and one street and committee of each
// district from the edge's public catalogue.
export function setup() {
  const catalogue = getWithRetry(`${EDGE_URL}/api/v1/catalogue`);
  if (!catalogue.year || !catalogue.year.registrationOpen) {
    fail('registration is not open: seed the stack with `backoffice seed -demo`');
  }
  const places = [];
  for (const district of catalogue.districts) {
    const streets = getWithRetry(`${EDGE_URL}/api/v1/districts/${district.code}/streets`);
    if (streets.length === 0) {
      continue;
    }
    const committees = getWithRetry(`${EDGE_URL}/api/v1/streets/${streets[0].code}/committees`);
    places.push({
      district: district.code,
      street: streets[0].code,
      committee: committees.length > 0 ? committees[0].code : '',
    });
  }
  const birthFrom = Date.parse(`${catalogue.year.birthFrom}T00:00:00Z`);
  const birthTo = Date.parse(`${catalogue.year.birthTo}T00:00:00Z`);
  return {
    year: catalogue.year.year,
    schemaVersion: catalogue.forms.registration.version,
    birthFrom,
    days: Math.round((birthTo - birthFrom) / 86400000) + 1,
    places,
  };
}

// child maps child number n to a distinct child: district, sex, birth day
// and ID sequence, as the Go load driver does.
function child(data, n) {
  let k = n;
  const place = data.places[k % data.places.length];
  k = Math.floor(k / data.places.length);
  const sex = k % 2 === 1 ? 'M' : 'F';
  k = Math.floor(k / 2);
  const birth = new Date(data.birthFrom + (k % data.days) * 86400000);
  const sequence = Math.floor(k / data.days);
  return { place, sex, birth, id: residentID(place.district, birth, sequence, sex) };
}

function registrationBody(data, n, c) {
  const mother = new Date(Date.UTC(1985, 0, 1) + (n % 3650) * 86400000);
  const divisions = {
    districtCode: c.place.district,
    streetCode: c.place.street,
    committeeCode: c.place.committee,
  };
  return JSON.stringify({
    enrolmentYear: data.year,
    schemaVersion: data.schemaVersion,
    child: {
      name: '王小明',
      sex: c.sex,
      birthDate: isoDate(c.birth),
      document: { type: 'resident_id', number: c.id, nationality: 'CHN' },
      hukou: { inShanghai: true, ...divisions, address: `漕溪北路${(n % 999) + 1}弄3号`, province: '' },
    },
    residence: { ...divisions, address: `漕溪北路${(n % 999) + 1}弄3号502室`, atHukouAddress: true },
    guardians: [{
      relation: 'mother',
      name: '王芳',
      phone: `139${pad(n % 100000000, 8)}`,
      document: { type: 'resident_id', number: residentID(c.place.district, mother, Math.floor(n / 3650), 'F') },
      hukouInShanghai: true,
    }],
    certificates: [],
    extra: { birthProvince: '上海市' },
  });
}

// forwardedFor gives each parent an address of its own from 198.18.0.0/15,
// the range RFC 2544 sets aside for benchmarks. It is only a header value:
// nothing is sent to it.
function forwardedFor(n) {
  return `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`;
}

// signIn follows the sign-in flow without a browser: the edge redirects to
// the identity simulator, which with login_hint signs the subject in at once
// and redirects back to the edge's callback, which sets ps_session.
function signIn(subject, params) {
  const login = http.get(`${EDGE_URL}/auth/login?return=/`, { ...params, redirects: 0 });
  if (!check(login, { 'login redirects to the identity service': (r) => r.status === 302 })) {
    return false;
  }
  const authorizeURL = `${login.headers.Location}&login_hint=${encodeURIComponent(subject)}`;
  const authorize = http.get(authorizeURL, { ...params, redirects: 0 });
  if (!check(authorize, { 'identity service redirects back': (r) => r.status === 302 })) {
    return false;
  }
  const callback = http.get(authorize.headers.Location, { ...params, redirects: 0 });
  return check(callback, {
    'callback signs in': (r) => r.status === 302 && params.jar.cookiesForURL(EDGE_URL).ps_session !== undefined,
  });
}

export default function (data) {
  const n = FIRST_CHILD + exec.scenario.iterationInTest;
  const subject = `k6-${exec.scenario.iterationInTest}-${exec.vu.idInTest}`;
  // A fresh cookie jar per iteration: each iteration is another family.
  const jar = new http.CookieJar();
  const headers = { 'X-Forwarded-For': forwardedFor(n) };

  if (!signIn(subject, { jar, headers, tags: { step: 'sign_in' } })) {
    return;
  }

  const c = child(data, n);
  const registered = http.post(`${EDGE_URL}/api/v1/registrations`, registrationBody(data, n, c), {
    jar,
    headers: { ...headers, 'Content-Type': 'application/json' },
    tags: { step: 'register' },
  });
  const accepted = check(registered, {
    'registration accepted (202)': (r) => r.status === 202,
    'receipt number returned': (r) => r.status === 202 && /^\d{12}$/.test(r.json('receiptNumber')),
  });
  if (!accepted) {
    return;
  }

  const number = registered.json('receiptNumber');
  const acceptedAt = Date.now();
  for (let waited = 0; waited < POLL_TIMEOUT; waited += POLL_INTERVAL) {
    sleep(POLL_INTERVAL);
    const receipt = http.get(`${EDGE_URL}/api/v1/receipts/${number}`, {
      jar,
      headers,
      tags: { step: 'poll', name: `${EDGE_URL}/api/v1/receipts/{number}` },
    });
    if (receipt.status === 200 && RECORDED.includes(receipt.json('status'))) {
      timeToRecorded.add(Date.now() - acceptedAt);
      check(receipt, { 'receipt recorded (已入库)': () => true });
      return;
    }
  }
  notRecorded.add(1);
  check(null, { 'receipt recorded (已入库)': () => false });
}
