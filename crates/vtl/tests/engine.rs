//! The Velocity engine on its own: syntax, semantics, Java output, budgets.

use vtl::{Context, Map, Template, Value};

fn render_with(src: &str, ctx: &Context<'_>) -> String {
    Template::parse(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .render(ctx)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn render(src: &str) -> String {
    render_with(src, &Context::new())
}

fn ctx() -> Context<'static> {
    let mut c = Context::new();
    let mut person = Map::new();
    person.insert("name", Value::from("Ann"));
    person.insert("age", Value::Int(41));
    c.set("person", person)
        .set("name", "World")
        .set("n", Value::Int(7))
        .set("items", Value::List(vec![Value::from("a"), Value::from("b"), Value::from("c")]));
    c
}

#[test]
fn references_in_all_their_forms() {
    let c = ctx();
    assert_eq!(render_with("Hello $name!", &c), "Hello World!");
    assert_eq!(render_with("Hello ${name}s", &c), "Hello Worlds");
    assert_eq!(render_with("$person.name is $person.age", &c), "Ann is 41");
    assert_eq!(render_with("${person.name}x", &c), "Annx");
    assert_eq!(render_with("$person.get('name')", &c), "Ann");
    assert_eq!(render_with("$items[1] $items.get(2) $items[-1]", &c), "b c c");
    assert_eq!(render_with("$person['age']", &c), "41");
    // A trailing dot is text, not a property.
    assert_eq!(render_with("Bye $name.", &c), "Bye World.");
}

#[test]
fn missing_references_print_as_written_unless_quiet() {
    let c = ctx();
    assert_eq!(render_with("[$missing]", &c), "[$missing]");
    assert_eq!(render_with("[$!missing]", &c), "[]");
    assert_eq!(render_with("[${missing}]", &c), "[${missing}]");
    assert_eq!(render_with("[$!{missing}]", &c), "[]");
    assert_eq!(render_with("[$person.nope]", &c), "[$person.nope]");
    assert_eq!(render_with("[$!person.nope]", &c), "[]");
    assert_eq!(render_with("[$missing.a.b('x')]", &c), "[$missing.a.b('x')]");
}

#[test]
fn dollar_signs_that_start_nothing_are_text() {
    assert_eq!(render("cost: $5 and $ and $$"), "cost: $5 and $ and $$");
    assert_eq!(render("a # b #1 #{ c"), "a # b #1 #{ c");
}

#[test]
fn escaping_follows_velocity() {
    let c = ctx();
    assert_eq!(render_with(r"\$name", &c), "$name");
    assert_eq!(render_with(r"\\$name", &c), r"\World");
    assert_eq!(render_with(r"\$missing", &c), r"\$missing");
    assert_eq!(render_with(r"\#if(true)", &c), "#if(true)");
    assert_eq!(render_with(r"a\b", &c), r"a\b");
}

#[test]
fn comments_vanish() {
    assert_eq!(render("a## line comment\nb"), "ab");
    assert_eq!(render("a#* block\n comment *#b"), "ab");
    assert_eq!(render("#[[$not #if parsed]]#"), "$not #if parsed");
}

#[test]
fn set_and_literals() {
    assert_eq!(render("#set($a = 1)$a"), "1");
    assert_eq!(render("#set($a = 'x')#set($b = \"$a-y\")$b"), "x-y");
    assert_eq!(render("#set($l = [1, 'two', 3.5, true])$l"), "[1, two, 3.5, true]");
    assert_eq!(render("#set($m = {\"a\": 1, 'b': [2]})$m"), "{a=1, b=[2]}");
    assert_eq!(render("#set($r = [1..4])$r #set($d = [3..1])$d"), "[1, 2, 3, 4] [3, 2, 1]");
    assert_eq!(render("#set($m = {})#set($m.k = 'v')$m.k"), "v");
    assert_eq!(render("#set($q = 'it''s')$q"), "it's");
    assert_eq!(render("#set($s = 'no $interp')$s"), "no $interp");
}

#[test]
fn set_with_a_null_right_side_keeps_the_old_value() {
    assert_eq!(render("#set($a = 1)#set($a = $nothing)$a"), "1");
}

#[test]
fn arithmetic_is_java_arithmetic() {
    assert_eq!(render("#set($x = 7 / 2)$x"), "3");
    assert_eq!(render("#set($x = 7 % 3)$x"), "1");
    assert_eq!(render("#set($x = 7.0 / 2)$x"), "3.5");
    assert_eq!(render("#set($x = 1 + 2 * 3)$x"), "7");
    assert_eq!(render("#set($x = (1 + 2) * 3)$x"), "9");
    assert_eq!(render("#set($x = -4 + 1)$x"), "-3");
    assert_eq!(render("#set($x = 0.1 + 0.2)$x"), "0.30000000000000004");
    assert_eq!(render("#set($x = 2.0 * 3)$x"), "6.0");
    assert_eq!(render("#set($x = 'a' + 1)$x"), "a1");
    // Integer division by zero has no value.
    assert_eq!(render("#set($x = 1 / 0)$x"), "$x");
    assert_eq!(render("#set($x = 9223372036854775807 + 1)$x"), "9.223372036854776E18");
}

#[test]
fn conditions_and_truth() {
    let c = ctx();
    assert_eq!(render_with("#if($n > 5)big#elseif($n > 2)mid#else small#end", &c), "big");
    assert_eq!(render_with("#if($n < 5)big#elseif($n > 2)mid#else small#end", &c), "mid");
    assert_eq!(render_with("#if($missing)yes#else no#end", &c), " no");
    // Only null and false are false in Velocity 1.7: empty strings and lists are true.
    assert_eq!(render("#if('')t#end#if([])t#end#if(0)t#end#if(false)f#end"), "ttt");
    assert_eq!(render_with("#if($n == 7 && !($n != 7) and not false)ok#end", &c), "ok");
    assert_eq!(render_with("#if($n == 8 || $n eq 7)ok#end", &c), "ok");
    assert_eq!(render("#if(1 == 1.0)eq#end"), "eq");
    // Different kinds compare by toString.
    assert_eq!(render("#if('1' == 1)eq#end"), "eq");
    assert_eq!(render("#if($a == $b)both null#end"), "both null");
    assert_eq!(render("#if('a' < 'b')yes#else no#end"), " no");
}

#[test]
fn foreach_with_its_helpers() {
    let c = ctx();
    assert_eq!(render_with("#foreach($i in $items)$i#if($foreach.hasNext),#end#end", &c), "a,b,c");
    assert_eq!(
        render_with("#foreach($i in $items)$foreach.index/$foreach.count/$velocityCount #end", &c),
        "0/1/1 1/2/2 2/3/3 "
    );
    assert_eq!(render("#foreach($i in [1..10])#if($i > 3)#break#end$i#end"), "123");
    assert_eq!(render("#foreach($v in {'a': 1, 'b': 2})$v#end"), "12");
    assert_eq!(
        render("#set($m = {'a': 1, 'b': 2})#foreach($e in $m.entrySet())$e.key=$e.getValue();#end"),
        "a=1;b=2;"
    );
    // The loop variable is restored afterwards.
    assert_eq!(render("#set($i = 'before')#foreach($i in [1,2])#end$i"), "before");
    assert_eq!(render("#foreach($i in $nothing)x#end."), ".");
    assert_eq!(
        render("#foreach($a in [1,2])#foreach($b in ['x','y'])$a$b$foreach.count #end#end"),
        "1x1 1y2 2x1 2y2 "
    );
}

#[test]
fn stop_ends_the_render() {
    assert_eq!(render("a#stop b"), "a");
    assert_eq!(render("#foreach($i in [1,2,3])$i#if($i == 2)#stop#end#end tail"), "12");
}

#[test]
fn directives_eat_their_newline_and_set_its_indentation() {
    let src = "{\n  #set($x = 1)\n  \"x\": $x,\n#foreach($i in [1,2])\n  $i\n#end\n#if(true)\nyes\n#else\nno\n#end\n}";
    assert_eq!(render(src), "{\n  \"x\": 1,\n  1\n  2\nyes\n}");
}

#[test]
fn braced_directives() {
    assert_eq!(render("#{if}(true)a#{else}b#{end}"), "a");
    assert_eq!(render("#{set}($v = 3)$v"), "3");
}

#[test]
fn string_methods() {
    let mut c = Context::new();
    c.set("s", "  Hello, World  ");
    let cases = [
        ("$s.trim()", "Hello, World"),
        ("$s.length()", "16"),
        ("$s.trim().toLowerCase()", "hello, world"),
        ("$s.trim().toUpperCase()", "HELLO, WORLD"),
        ("$s.trim().substring(7)", "World"),
        ("$s.trim().substring(0, 5)", "Hello"),
        ("$s.indexOf('o')", "6"),
        ("$s.indexOf('zz')", "-1"),
        ("$s.trim().replace('l', 'L')", "HeLLo, WorLd"),
        ("$s.trim().replaceAll('[aeiou]', '*')", "H*ll*, W*rld"),
        ("$s.trim().replaceAll('(\\w+), (\\w+)', '$2 $1')", "World Hello"),
        ("$s.trim().split(', ')", "[Hello, World]"),
        ("$s.trim().startsWith('Hell')", "true"),
        ("$s.trim().endsWith('x')", "false"),
        ("$s.contains('lo, W')", "true"),
        ("$s.trim().equals('Hello, World')", "true"),
        ("$s.trim().matches('H.*d')", "true"),
        ("$s.trim().matches('ello')", "false"),
        ("$s.isEmpty()", "false"),
        ("$s.trim().charAt(1)", "e"),
    ];
    for (src, want) in cases {
        assert_eq!(render_with(src, &c), want, "{src}");
    }
    // Java's split drops trailing empty strings.
    assert_eq!(render("#set($s = 'a,b,,c,,')#set($p = $s.split(','))$p.size() $p"), "4 [a, b, , c]");
}

#[test]
fn collection_methods() {
    let c = ctx();
    assert_eq!(render_with("$items.size() $items.isEmpty() $items.contains('b')", &c), "3 false true");
    assert_eq!(
        render_with("$person.keySet() $person.containsKey('age') $person.size()", &c),
        "[name, age] true 2"
    );
    assert_eq!(render_with("$person.entrySet()", &c), "[{key=name, value=Ann}, {key=age, value=41}]");
    assert_eq!(render("#set($l = [])#set($ok = $l.add('x'))$l.add('y')$l"), "true[x, y]");
    assert_eq!(render("#set($m = {})$!m.put('a', 1)$m.put('a', 2) $m"), "1 {a=2}");
    assert_eq!(render("#set($m = {'a': {'b': []}})#set($_ = $m.a.b.add(5))$m"), "{a={b=[5]}}");
}

#[test]
fn method_errors_fail_the_render() {
    let t = Template::parse("\n  $s.substring(10)").expect("parses");
    let mut c = Context::new();
    c.set("s", "abc");
    let e = t.render(&c).expect_err("out of range");
    assert_eq!((e.line, e.column), (2, 3));
}

#[test]
fn unknown_methods_have_no_value() {
    let c = ctx();
    assert_eq!(render_with("$name.frobnicate()", &c), "$name.frobnicate()");
}

#[test]
fn parse_errors_have_positions() {
    let e = Template::parse("line one\n  #if($a\n").expect_err("unclosed");
    assert_eq!(e.line, 3, "{e}");
    let e = Template::parse("ok\n#end").expect_err("stray end");
    assert_eq!((e.line, e.column), (2, 1), "{e}");
    let e = Template::parse("#foreach($a on $b)#end").expect_err("bad foreach");
    assert_eq!((e.line, e.column), (1, 13), "{e}");
    assert!(Template::parse("#if(true)x").is_err());
    assert!(Template::parse("#set($a.b() = 1)").is_err());
    assert!(Template::parse("#* never closed").is_err());
    assert!(Template::parse("#set($a = 'unterminated)").is_err());
}

#[test]
fn runaway_templates_stop() {
    let t = Template::parse("#foreach($i in [1..2000000])x#end").expect("parses");
    assert!(t.render(&Context::new()).is_err());
    let t = Template::parse("#set($s = 'ab')#foreach($i in [1..40])#set($s = \"$s$s\")#end$s.length()")
        .expect("parses");
    assert!(t.render(&Context::new()).is_err());
    let t = Template::parse("#set($l = [1])#foreach($i in [1..64])#set($l = [$l, $l])#end$l.size()")
        .expect("parses");
    assert!(t.render(&Context::new()).is_err());
    let t = Template::parse("#set($l = [1])#foreach($i in [1..500])#set($l = [$l])#end.").expect("parses");
    assert!(t.render(&Context::new()).is_err());
    let deep = "(".repeat(10_000);
    assert!(Template::parse(&format!("#set($a = {deep}1)")).is_err());
    let t = Template::parse("$s.replace('', $s)").expect("parses");
    let mut c = Context::new();
    c.set("s", "x".repeat(5000));
    assert!(t.render(&c).is_err());
}

#[test]
fn reading_methods_do_not_copy_their_receiver() {
    // 1,000 turns asking the size of a 1,000-item list: a copy per turn would be a million
    // steps, over the budget.
    let t = Template::parse("#foreach($i in $big)#if($big.size() == $foreach.count)last#end#end")
        .expect("parses");
    let mut c = Context::new();
    c.set("big", Value::List((0..1000).map(Value::Int).collect()));
    assert_eq!(t.render(&c).expect("within budget"), "last");
}

#[test]
fn a_template_renders_many_times() {
    let t = Template::parse("#set($n = $n + 1)$n").expect("parses");
    let mut c = Context::new();
    c.set("n", Value::Int(1));
    assert_eq!(t.render(&c).expect("once"), "2");
    assert_eq!(t.render(&c).expect("twice"), "2");
}
