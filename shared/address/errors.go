package address

import (
	"fmt"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// Error codes of Parse, ParseRange and ParseParity. They are part of the API
// contract, so never rename them.
const (
	CodeMissingRoad          = "address_missing_road"
	CodeMissingNumber        = "address_missing_number"
	CodeRangeInAddress       = "address_range_not_allowed"
	CodeNumberTooLarge       = "address_number_too_large"
	CodeSubLaneWithoutLane   = "address_sub_lane_without_lane"
	CodeInvalidRange         = "invalid_house_number_range"
	CodeReversedRange        = "reversed_house_number_range"
	CodeInvalidParity        = "invalid_parity"
	CodeParityOfSingleNumber = "parity_of_single_number"
)

// Error is a parse error: a 400 *apierror.Error with a Chinese message that
// quotes the text.
type Error = apierror.Error

func invalid(code, message string) *Error { return apierror.Invalid("", code, message) }

func errMissingRoad(text string) *Error {
	return invalid(CodeMissingRoad, fmt.Sprintf("地址“%s”缺少路名，请按“某某路100弄3号”的格式填写。", text))
}

func errMissingNumber(text string) *Error {
	return invalid(CodeMissingNumber, fmt.Sprintf("地址“%s”缺少门牌号（弄或号），请补充后重新填写。", text))
}

func errRangeInAddress(text string) *Error {
	return invalid(CodeRangeInAddress, fmt.Sprintf("地址“%s”的门牌号应为单个号码，不能是范围。", text))
}

func errNumberTooLarge(text string) *Error {
	return invalid(CodeNumberTooLarge, fmt.Sprintf("地址“%s”的门牌号过大，请核对。", text))
}

func errSubLaneWithoutLane(text string) *Error {
	return invalid(CodeSubLaneWithoutLane, fmt.Sprintf("地址“%s”有支弄但没有弄号，请按“100弄3支弄5号”的格式填写。", text))
}

func errInvalidRange(text string) *Error {
	return invalid(CodeInvalidRange, fmt.Sprintf("门牌范围“%s”无法识别，请按“某某路100-120号”“某某路1~5弄”或“某某路100弄1-20号”的格式填写。", text))
}

func errReversedRange(text string) *Error {
	return invalid(CodeReversedRange, fmt.Sprintf("门牌范围“%s”的起始号大于结束号，请核对。", text))
}

func errInvalidParity(text string) *Error {
	return invalid(CodeInvalidParity, fmt.Sprintf("单双号“%s”无法识别，应为“全部”“单号”或“双号”。", text))
}

func errParityOfSingleNumber(text string) *Error {
	return invalid(CodeParityOfSingleNumber, fmt.Sprintf("门牌范围“%s”的单双号与号码本身不符，没有任何门牌能匹配。", text))
}
