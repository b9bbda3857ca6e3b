package seed

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// nameWords are the two-character words of generated kindergarten names.
var nameWords = []string{
	"阳光", "彩虹", "星辰", "春晖", "蓝天", "启明", "向阳", "明珠", "育才", "童心",
	"晨曦", "春芽", "新苗", "绿叶", "朝阳", "苹果", "小树", "百灵", "海棠", "紫薇",
	"玉兰", "丁香", "茉莉", "芳草", "青禾", "嘉禾", "稻香", "春蕾", "花园", "乐苗",
	"爱弥", "思贤", "博文", "明德", "启智", "乐群", "和美", "怡心", "欣悦", "开心",
	"快乐", "童趣", "梦想", "星光", "彩云", "白鸽", "黄鹂", "喜鹊", "翠竹", "松鹤",
	"荷花", "桃源", "杏林", "梅园", "兰亭", "菊香", "枫叶", "银杏", "香樟", "梧桐",
	"天鹅", "海鸥", "帆船", "贝贝", "宝宝", "娃娃", "新星", "天使", "未来", "希望",
	"雏鹰", "飞翔", "远航", "创新", "科艺", "艺苑", "乐韵", "音画", "书香", "墨香",
	"文苑", "雅苑", "锦绣", "华庭", "景苑", "绿洲", "清泉", "溪畔", "湖畔", "海湾",
	"滨江", "江畔", "明月", "晓星", "朝霞", "霞光", "虹桥", "彩蝶", "蜻蜓", "青蛙",
	"小鸭", "萌芽", "嫩芽", "春苗", "禾苗", "红缨", "红星", "东方", "金色", "银河",
	"育英", "培英", "森林", "草原", "田野", "山水", "七彩", "五彩", "启蒙", "四季",
}

// roadRoots are the place names that generated roads are named after, in the
// Shanghai habit of naming roads after provinces and cities.
var roadRoots = []string{
	"长乐", "建国", "复兴", "永嘉", "岳阳", "宛平", "衡山", "华山", "漕溪", "龙吴",
	"桂林", "钦州", "柳州", "宜山", "虹漕", "平阳", "莲花", "春申", "都市", "银都",
	"罗秀", "浦星", "杨高", "锦绣", "张杨", "东方", "源深", "崂山", "民生", "松林",
	"博山", "昌邑", "上南", "成山", "德州", "云台", "海阳", "华夏", "秀沿", "申江",
	"金科", "高科", "龙东", "金海", "妙境", "曲阳", "四平", "大连", "控江", "黄兴",
	"国和", "政立", "淞沪", "殷行", "开鲁", "民京", "营口", "延吉", "共和", "广中",
	"天目", "武宁", "曹杨", "兰溪", "枣阳", "真北", "宁夏", "甘肃", "青海", "西藏",
	"新疆", "云南", "贵州", "四川", "湖南", "湖北", "江西", "福建", "广东", "广西",
	"浙江", "江苏", "安徽", "山东", "河南", "河北", "山西", "陕西", "辽宁", "吉林",
	"黑龙江", "内蒙古", "杭州", "宁波", "苏州", "无锡", "常州", "南通", "扬州", "镇江",
}

// roadDirections are the suffixes before 路. The empty ones make plain roads
// the most common.
var roadDirections = []string{"", "", "", "", "东", "西", "南", "北", "中"}

// streetStem returns the street's name without its 街道, 镇 or 乡 suffix, as
// kindergartens and roads are named after it ("天平路街道" → "天平路",
// "真如镇街道" → "真如"). A one-character stem keeps its suffix ("唐镇").
// It returns false for industrial parks, farms and other areas that lend
// their name to neither.
func streetStem(name string) (string, bool) {
	stem := name
	switch {
	case strings.HasSuffix(stem, "街道"):
		stem = strings.TrimSuffix(stem, "街道")
	case strings.HasSuffix(stem, "新镇"):
		stem = strings.TrimSuffix(stem, "新镇")
	case strings.HasSuffix(stem, "镇"), strings.HasSuffix(stem, "乡"):
		stem = stem[:len(stem)-len("镇")]
	default:
		return "", false
	}
	stem = strings.TrimSuffix(stem, "镇")
	if utf8.RuneCountInString(stem) < 2 {
		return name, true
	}
	return stem, true
}

// roadFromStem turns a street stem into a road name: "天平路" stays,
// "康健新村" becomes "康健路", "长桥" becomes "长桥路" and "新村" becomes
// "新村路".
func roadFromStem(stem string) string {
	if strings.HasSuffix(stem, "路") {
		return stem
	}
	if trimmed := strings.TrimSuffix(stem, "新村"); utf8.RuneCountInString(trimmed) >= 2 {
		return trimmed + "路"
	}
	return stem + "路"
}

func randomRoad(rng *rand.Rand) string {
	return roadRoots[rng.IntN(len(roadRoots))] + roadDirections[rng.IntN(len(roadDirections))] + "路"
}

// randomAddress returns "{road}{n}号" or "{road}{n}弄{m}号".
func randomAddress(rng *rand.Rand, road string) string {
	if rng.IntN(10) < 6 {
		return road + strconv.Itoa(1+rng.IntN(999)) + "号"
	}
	return road + strconv.Itoa(1+rng.IntN(1500)) + "弄" + strconv.Itoa(1+rng.IntN(60)) + "号"
}

// chineseNumeral writes 1 to 99 in Chinese numerals (一, 十二, 二十) and larger
// numbers in Arabic digits.
func chineseNumeral(n int) string {
	const digits = "〇一二三四五六七八九"
	digit := func(d int) string { return string([]rune(digits)[d]) }
	switch {
	case n < 1 || n > 99:
		return strconv.Itoa(n)
	case n < 10:
		return digit(n)
	case n == 10:
		return "十"
	case n < 20:
		return "十" + digit(n%10)
	case n%10 == 0:
		return digit(n/10) + "十"
	default:
		return digit(n/10) + "十" + digit(n%10)
	}
}

// nameGenerator hands out kindergarten names that are unique across the run.
type nameGenerator struct {
	rng  *rand.Rand
	used map[string]bool
}

// kindergartenName returns a unique name such as "上海市徐汇区天平路幼儿园",
// "上海市徐汇区阳光实验幼儿园" or, for a private kindergarten,
// "上海市徐汇区民办彩虹双语幼儿园". stem is "" for a street without one.
func (g *nameGenerator) kindergartenName(districtName, stem string, public bool) string {
	prefix := "上海市" + districtName
	for range 20 {
		word := nameWords[g.rng.IntN(len(nameWords))]
		var core string
		roll := g.rng.IntN(100)
		switch {
		case public && stem != "" && roll < 30:
			core = stem + "幼儿园"
		case public && stem != "" && roll < 45:
			core = stem + "第" + chineseNumeral(1+g.rng.IntN(3)) + "幼儿园"
		case public && roll < 60:
			core = word + "实验幼儿园"
		case public && roll < 70:
			core = word + "第" + chineseNumeral(1+g.rng.IntN(2)) + "幼儿园"
		case public:
			core = word + "幼儿园"
		case roll < 35:
			core = "民办" + word + "幼儿园"
		case roll < 65:
			core = word + "双语幼儿园"
		case roll < 85:
			core = word + "艺术幼儿园"
		default:
			core = "民办" + word + "双语幼儿园"
		}
		if name := prefix + core; !g.used[name] {
			g.used[name] = true
			return name
		}
	}

	// The district has used up the likely names, so count up until a
	// numbered one is free. This always ends because used is finite.
	word := nameWords[g.rng.IntN(len(nameWords))]
	for n := 1; ; n++ {
		name := fmt.Sprintf("%s%s第%s幼儿园", prefix, word, chineseNumeral(n))
		if !g.used[name] {
			g.used[name] = true
			return name
		}
	}
}
