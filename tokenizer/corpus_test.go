package tokenizer

import (
	"fmt"
	"strings"
)

// trainCorpus is the text testdata/vocab.txt is trained on (with
// handAdded): radiology-report phrases in the style the project reads.
var trainCorpus = []string{
	"A vascular tumor in the VI segment of the liver, with a diameter of 7.5mm, irregular shape, clear boundary, and no ring enhancement.",
	"the larger of the two cysts",
	"the lesion nearest the gallbladder fossa",
	"A hypodense lesion in segment VII of the right hepatic lobe, measuring 12 mm, with smooth margins.",
	"Multiple small cysts are seen in both kidneys; the largest is 9 mm in the left upper pole.",
	"A solid nodule in the right upper lobe of the lung, 8 mm in diameter, with spiculated margins.",
	"No focal lesion is seen in the pancreas. The pancreatic duct is not dilated.",
	"The spleen is normal in size. No splenic lesion.",
	"An enhancing mass in the head of the pancreas measuring 2.3 cm, with upstream ductal dilatation.",
	"Heterogeneous enhancement in the arterial phase with washout in the portal venous phase.",
	"A simple cyst in segment IV of the liver, 15 mm, thin wall, no septation, no enhancement.",
	"The lesion abuts the right portal vein without invasion.",
	"A round hyperechoic lesion in the posterior segment of the right lobe, consistent with hemangioma.",
	"The common bile duct measures 6 mm. No intrahepatic biliary dilatation.",
	"A calcified granuloma in the left lower lobe.",
	"Ground-glass opacity in the right middle lobe, 5 mm, unchanged from the prior study.",
	"The gallbladder is distended with a 1.2 cm stone at the neck; wall thickening of 4 mm.",
	"Peripheral nodular enhancement with centripetal fill-in on delayed images.",
	"A well-defined lesion in segment II, hypointense on T1, hyperintense on T2.",
	"Diffuse fatty infiltration of the liver. No focal lesion.",
	"The left adrenal gland contains a 1.8 cm nodule with low attenuation, likely an adenoma.",
	"Mild ascites around the liver and spleen.",
	"The right kidney shows a 3.4 cm exophytic cyst with a thin septation (Bosniak II).",
	"Enlarged lymph nodes in the hepatic hilum, the largest measuring 14 mm in short axis.",
	"A lobulated mass in the tail of the pancreas with irregular margins and peripheral calcification.",
	"Two lesions in the liver: the larger in segment VIII measures 22 mm, the smaller in segment III measures 6 mm.",
	"The lesion nearest the diaphragm shows restricted diffusion.",
	"Compared with the previous examination, the tumor has grown from 18 mm to 24 mm.",
	"Small hypodense lesions too small to characterize in segments V and VI.",
	"A cystic lesion in the uncinate process, 11 mm, communicating with the main duct, suggestive of IPMN.",
	"Thrombus in the main portal vein extending into the right branch.",
	"The hepatic veins and IVC are patent.",
	"Cirrhotic liver morphology with nodular contour and splenomegaly (spleen 14.5 cm).",
	"Arterially enhancing observation in segment VI, 19 mm, with washout and capsule: LI-RADS 5.",
	"A dominant nodule in the left lobe of the thyroid, 2.1 x 1.7 cm, solid, hypoechoic.",
	"No evidence of metastatic disease in the chest, abdomen or pelvis.",
	"Postoperative changes after right hemihepatectomy; no recurrence.",
	"The aorta is of normal caliber; mild atherosclerotic calcification.",
	"The lesion in the caudate lobe is stable at 10 mm.",
	"Cyst with a fluid-fluid level in the left ovary, 4.2 cm.",
	"A tumor thrombus in the left portal vein.",
	"The largest of the three cysts lies in segment VII.",
	"Biliary hamartomas scattered throughout the liver.",
	"A ring-enhancing collection adjacent to the gallbladder fossa, compatible with abscess.",
	"Hepatocellular carcinoma in segment V with a diameter of 3.1 cm and a pseudocapsule.",
	"Focal nodular hyperplasia with a central scar in segment IV.",
	"The smaller lesion is adjacent to the middle hepatic vein.",
	"Splenic cyst, 2 cm, unchanged.",
	"No pleural effusion. No pneumothorax.",
	"Degenerative changes of the lumbar spine.",
	"肝脏右叶见一囊肿，直径约7.5mm。",
	"Опухоль печени, 12 мм.",
	"Café-au-lait naïve résumé.",
}

// handAdded are words added to the trained vocabulary by hand so that the
// hand-checked vectors have whole-word tokens.
var handAdded = []string{
	"vascular", "tumor", "liver", "segment", "diameter", "irregular", "shape",
	"clear", "boundary", "enhancement", "larger", "cysts", "lesion", "nearest",
	"gallbladder", "fossa", "cafe", "hepatic", "hemangioma", "pancreas", "##mm",
	"vi", "vii", "viii", "iv", "ring", "the", "and", "with", "of", "in",
}

// goldenInputs are the texts of testdata/golden.jsonl: hand-written
// expressions, then deterministic template expansions, unicode and long
// inputs.
func goldenInputs() []string {
	in := append([]string(nil), trainCorpus...)
	in = append(in,
		"",
		" ",
		"\t\n",
		"VI",
		"segment VI",
		"the VI segment",
		"Café au lait spots",
		"tümor",
		"TÜMOR",
		"Tumör in the Leber",
		"naïve ovoid lesion",
		"Ångström-scale résumé",
		"7.5mm",
		"7.5 mm",
		"7,5 mm",
		"12×8×6 mm",
		"2.1 x 1.7 cm",
		"~3cm",
		"≥ 5 mm",
		"±2 mm",
		"50%",
		"T1-weighted, T2-weighted",
		"ill-defined",
		"well–defined — borders",
		"non-enhancing",
		"left-sided",
		"segment VI/VII",
		"segments II–III",
		"(approximately 15 mm)",
		"[see prior]",
		"lesion #3",
		"\"ring\" enhancement",
		"it's the patient's liver",
		"Dr. Smith's note: no change.",
		"e.g. cysts, i.e. benign",
		"肝脏右叶见一囊肿",
		"肝S6段血管瘤，直径7.5mm。",
		"肝tumor",
		"tumor肝",
		"中文 and English mixed",
		"日本語のテキスト",
		"간 종양",
		"Опухоль печени",
		"ورم الكبد",
		"Ελληνικά γράμματα",
		"İstanbul ISTANBUL",
		"straße STRASSE",
		"ﬁbrous tissue",
		"Ⅵ segment",
		"x²",
		"café\u0301",
		"zero\u200bwidth",
		"soft\u00adhyphen",
		"non\u00a0breaking space",
		"ideographic\u3000space",
		"tab\tseparated\tvalues",
		"line\nbreak\r\nand return",
		"emoji 🙂 in text",
		"rare emoji 🥰",
		"[CLS] [SEP] [PAD] [MASK] [UNK]",
		"the [MASK] is in segment VI",
		"[mask] lowercase is not special",
		"A"+strings.Repeat("a", 99),
		"A"+strings.Repeat("a", 100),
		strings.Repeat("x", 101)+" tumor",
		strings.Repeat("tumor ", 40),
		strings.Repeat("The lesion nearest the gallbladder fossa. ", 10),
		strings.Repeat("7.5mm, ", 30),
	)
	sizes := []string{"3 mm", "7.5mm", "12 mm", "1.2 cm", "2.3cm", "45 mm"}
	segments := []string{"I", "II", "III", "IV", "V", "VI", "VII", "VIII"}
	kinds := []string{"cyst", "vascular tumor", "hemangioma", "nodule", "lesion", "mass"}
	shapes := []string{"irregular shape", "round shape", "lobulated contour", "smooth margins"}
	for i := 0; len(in) < 180; i++ {
		k := kinds[i%len(kinds)]
		s := segments[(i*3)%len(segments)]
		z := sizes[(i*5)%len(sizes)]
		sh := shapes[(i*7)%len(shapes)]
		switch i % 4 {
		case 0:
			in = append(in, fmt.Sprintf("A %s in the %s segment of the liver, with a diameter of %s, %s.", k, s, z, sh))
		case 1:
			in = append(in, fmt.Sprintf("the %s of the %d %ss", []string{"larger", "smaller", "largest"}[i%3], 2+i%3, k))
		case 2:
			in = append(in, fmt.Sprintf("the %s nearest the %s", k, []string{"gallbladder fossa", "portal vein", "diaphragm", "IVC"}[i%4]))
		case 3:
			in = append(in, fmt.Sprintf("Segment %s: %s (%s), %s; no ring enhancement.", s, strings.ToUpper(k), z, sh))
		}
	}
	for i := 0; len(in) < 200; i++ {
		// Mixed case, accents and punctuation runs.
		in = append(in, fmt.Sprintf("Lésion n°%d — SEGMENT %s, Ø %s!!", i+1, segments[i%len(segments)], sizes[i%len(sizes)]))
	}
	return in
}
