package document

import "time"

// chinaStandardTime is UTC+8. Asia/Shanghai has had no daylight saving time
// since 1991, so this fixed zone gives the same date as the tz database for
// any current time and works where no tz database is installed.
var chinaStandardTime = time.FixedZone("CST", 8*60*60)

// minBirthYear is the earliest birth year accepted in an 18-digit number.
const minBirthYear = 1900

// parseResidentID validates a normalised mainland resident ID number.
func parseResidentID(number string, today time.Time) (Document, error) {
	if len(number) == 15 && isDigits(number) {
		return Document{}, errResidentID15Digits()
	}
	if !isGB11643Shape(number) {
		return Document{}, residentIDErrors.format()
	}

	// The first two digits are the province-level region. The four digits
	// after them are not checked, because county codes are renamed and
	// retired over time while the IDs issued under them stay valid.
	switch number[:2] {
	case "81", "82", "83":
		return Document{}, errResidentIDHMTRegion()
	}
	if !isProvinceCode(number[:2]) {
		return Document{}, residentIDErrors.region()
	}

	return parseGB11643(ResidentID, number, today, residentIDErrors)
}

// parseHMTResidencePermit validates a normalised residence permit number of a
// Hong Kong, Macau or Taiwan resident. These use the resident ID layout with
// a fixed region code for each of the three regions.
func parseHMTResidencePermit(number string, today time.Time) (Document, error) {
	if !isGB11643Shape(number) {
		return Document{}, hmtPermitErrors.format()
	}

	var region string
	switch number[:6] {
	case "810000":
		region = "HK"
	case "820000":
		region = "MO"
	case "830000":
		region = "TW"
	default:
		return Document{}, hmtPermitErrors.region()
	}

	doc, err := parseGB11643(HMTResidencePermit, number, today, hmtPermitErrors)
	if err != nil {
		return Document{}, err
	}
	doc.Region = region
	return doc, nil
}

// parseGB11643 checks the birth date and check character of an 18-digit
// number whose shape and region the caller has checked, and returns the
// document with the facts the number encodes.
func parseGB11643(t Type, number string, today time.Time, errs gb11643Errors) (Document, error) {
	birth, ok := parseBirthDate(number[6:14], today)
	if !ok {
		return Document{}, errs.birthDate()
	}
	if checkCharacter(number) != number[17] {
		return Document{}, errs.checksum()
	}

	// The 17th digit, the last of the sequence code, is odd for males and
	// even for females.
	sex := byte('F')
	if (number[16]-'0')%2 == 1 {
		sex = 'M'
	}

	return Document{
		Type:        t,
		Number:      number,
		BirthDate:   birth,
		Sex:         sex,
		RegionCode:  number[:6],
		Nationality: "CHN",
	}, nil
}

// isGB11643Shape reports whether number is 17 ASCII digits followed by a
// digit or 'X'.
func isGB11643Shape(number string) bool {
	if len(number) != 18 || !isDigits(number[:17]) {
		return false
	}
	last := number[17]
	return (last >= '0' && last <= '9') || last == 'X'
}

// isProvinceCode reports whether the two digits are the code of a
// province-level region that issues resident IDs (GB/T 2260). Prefixes such
// as 71 (Taiwan), 81 (Hong Kong), 82 (Macau), 83 and 91 are not among them.
func isProvinceCode(code string) bool {
	n := int(code[0]-'0')*10 + int(code[1]-'0')
	switch {
	case n >= 11 && n <= 15, // Beijing to Inner Mongolia
		n >= 21 && n <= 23, // Liaoning to Heilongjiang
		n >= 31 && n <= 37, // Shanghai to Shandong
		n >= 41 && n <= 46, // Henan to Hainan
		n >= 50 && n <= 54, // Chongqing to Tibet
		n >= 61 && n <= 65: // Shaanxi to Xinjiang
		return true
	}
	return false
}

// parseBirthDate parses eight ASCII digits YYYYMMDD as a date at midnight UTC.
// It reports false for a date that does not exist, a year before
// minBirthYear, or a date after today's date in China Standard Time.
func parseBirthDate(yyyymmdd string, today time.Time) (time.Time, bool) {
	year := atoi(yyyymmdd[0:4])
	month := atoi(yyyymmdd[4:6])
	day := atoi(yyyymmdd[6:8])
	if year < minBirthYear || month < 1 || month > 12 || day < 1 {
		return time.Time{}, false
	}
	// Day 0 of the next month is the last day of this month, which takes
	// leap years into account.
	if day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false
	}

	birth := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	todayYear, todayMonth, todayDay := today.In(chinaStandardTime).Date()
	if birth.After(time.Date(todayYear, todayMonth, todayDay, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, false
	}
	return birth, true
}

// atoi converts a short string of ASCII digits, which the caller has checked.
func atoi(digits string) int {
	n := 0
	for i := 0; i < len(digits); i++ {
		n = n*10 + int(digits[i]-'0')
	}
	return n
}
