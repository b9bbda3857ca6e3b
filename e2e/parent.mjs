// The parent's side of the browser tests, through the edge's API without a
// browser: signing in at the identity simulator, registering a child in
// 徐汇区 at an address matched to a campus, applying and polling receipts.
import { randomInt } from 'node:crypto';

export const xuhui = { code: '310104', name: '徐汇区' };

// GB 11643 weights of the first 17 digits and the check characters by the
// weighted sum modulo 11.
const idWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const idCheckCharacters = '10X98765432';

export function residentID(areaCode, birthDate, sex) {
  const sequence = String(randomInt(0, 50) * 2 + (sex === 'M' ? 1 : 0)).padStart(3, '0');
  const first17 = areaCode + birthDate.replaceAll('-', '') + sequence;
  const sum = [...first17].reduce((total, digit, index) => total + Number(digit) * idWeights[index], 0);
  return first17 + idCheckCharacters[sum % 11];
}

/** A parent's client of the edge API, signed in through the identity simulator without a browser. */
export class ParentClient {
  cookies = new Map();

  constructor(edgeURL) {
    this.edgeURL = edgeURL;
  }

  cookieHeader() {
    return [...this.cookies].filter(([, value]) => value !== '').map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async fetchManual(url) {
    const response = await fetch(url, { redirect: 'manual', headers: { Cookie: this.cookieHeader() } });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const separator = pair.indexOf('=');
      this.cookies.set(pair.slice(0, separator).trim(), pair.slice(separator + 1).trim());
    }
    return response;
  }

  async signIn(subject) {
    const login = await this.fetchManual(`${this.edgeURL}/auth/login?return=/`);
    const authorize = await this.fetchManual(`${login.headers.get('location')}&login_hint=${encodeURIComponent(subject)}`);
    await this.fetchManual(authorize.headers.get('location'));
  }

  /** Sends a request and returns {status, body}. */
  async send(method, path, body) {
    const headers = { Accept: 'application/json', Cookie: this.cookieHeader() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(this.edgeURL + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  async call(method, path, body) {
    const response = await this.send(method, path, body);
    if (response.status >= 300) throw new Error(`${method} ${path}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }

  /** Polls a receipt until its status is one of `statuses`, for at most 30 s. */
  async waitForStatus(number, statuses) {
    const deadline = Date.now() + 30_000;
    let receipt;
    while (Date.now() < deadline) {
      receipt = await this.call('GET', `/api/v1/receipts/${number}`);
      if (statuses.includes(receipt.status)) return receipt;
      await new Promise((wait) => setTimeout(wait, 250));
    }
    throw new Error(`receipt ${number} still ${receipt?.status} after 30 s; expected one of ${statuses.join(', ')}`);
  }

  async apply(registrationNumber) {
    const options = await this.call('GET', `/api/v1/registrations/${registrationNumber}/options?district=${xuhui.code}`);
    return this.send('POST', '/api/v1/applications', {
      registrationNumber, districtCode: xuhui.code, categoryCode: options.categoryCode,
      campusChoices: [options.campuses[0].id], schemaVersion: 1, extra: {},
    });
  }
}

/** Finds a 徐汇 street and committee matched to a campus. */
export async function findMatchedAddress(parent) {
  const streets = await parent.call('GET', `/api/v1/districts/${xuhui.code}/streets`);
  for (const street of streets.slice(0, 40)) {
    const committees = await parent.call('GET', `/api/v1/streets/${street.code}/committees`);
    const committeeCode = committees[0]?.code || '';
    const query = new URLSearchParams({ district: xuhui.code, street: street.code, committee: committeeCode });
    const { campuses } = await parent.call('GET', `/api/v1/matching?${query}`);
    if (campuses.length >= 1) return { streetCode: street.code, committeeCode };
  }
  throw new Error(`no address in ${xuhui.name} is matched to a campus`);
}

/**
 * Fetches the child's electronic certificates of the given types from the
 * certificate API through the edge and returns the child's resident ID and
 * the certificates to submit. The simulated API has a given type for most
 * ID numbers but not all, so it tries new random IDs until every type is found.
 */
async function fetchCertificates(parent, birthDate, types) {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const documentNumber = residentID(xuhui.code, birthDate, 'M');
    if (types.length === 0) return { documentNumber, certificates: [] };
    const answer = await parent.call('POST', '/api/v1/prefill/certificates',
      { documentType: 'resident_id', documentNumber, certificateTypes: types });
    if (!answer.available) throw new Error(`certificate prefill unavailable: ${answer.message}`);
    if (answer.certificates.length === types.length) {
      return {
        documentNumber,
        certificates: answer.certificates.map((item) => ({ type: item.type, source: 'prefill', prefillToken: item.prefillToken })),
      };
    }
  }
  throw new Error(`the certificate API found no ${types.join(', ')} for 20 random IDs`);
}

/** Registers a child in 徐汇区 with the electronic certificates of certificateTypes and returns the registration number. */
export async function registerChild(parent, { certificateTypes = [] } = {}) {
  const catalogue = await parent.call('GET', '/api/v1/catalogue');
  const { year, birthFrom } = catalogue.year;
  const birth = new Date(`${birthFrom}T00:00:00Z`);
  birth.setUTCMonth(birth.getUTCMonth() + 2);
  const birthDate = birth.toISOString().slice(0, 10);
  const address = await findMatchedAddress(parent);
  const place = { districtCode: xuhui.code, streetCode: address.streetCode, committeeCode: address.committeeCode };
  const child = await fetchCertificates(parent, birthDate, certificateTypes);
  const receipt = await parent.call('POST', '/api/v1/registrations', {
    enrolmentYear: year,
    schemaVersion: 1,
    child: {
      name: '周小安', sex: 'M', birthDate,
      document: { type: 'resident_id', number: child.documentNumber, nationality: 'CHN' },
      hukou: { inShanghai: true, ...place, address: '测试路8弄2号', province: '' },
    },
    residence: { ...place, address: '测试路8弄2号301室', atHukouAddress: true },
    guardians: [{
      relation: 'father', name: '周建国', phone: '13912345678',
      document: { type: 'resident_id', number: residentID(xuhui.code, '1988-03-02', 'M') }, hukouInShanghai: true,
    }],
    certificates: child.certificates,
    extra: {},
  });
  return receipt.receiptNumber;
}
