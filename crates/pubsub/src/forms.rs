//! XEP-0004 data forms, as far as pubsub configuration, subscription options and subscription
//! authorisation need them.

use herald_xml::Element;

use super::ns::DATA;

/// A form of `kind` (`form`, `result`, `submit`) with a hidden FORM_TYPE and text fields.
pub(crate) fn form(kind: &str, form_type: &str, fields: &[(&str, String)]) -> Element {
    let mut x = Element::new("x", DATA).with_attr("type", kind);
    x.push_child(
        Element::new("field", DATA)
            .with_attr("var", "FORM_TYPE")
            .with_attr("type", "hidden")
            .with_child(Element::new("value", DATA).with_text(form_type)),
    );
    for (var, value) in fields {
        x.push_child(Element::new("field", DATA).with_attr("var", *var).with_child(Element::new("value", DATA).with_text(value.clone())));
    }
    x
}

/// The (var, first value) pairs of a submitted form; `None` if `el` holds no data form.
pub(crate) fn submitted(el: &Element) -> Option<Vec<(String, String)>> {
    let x = el.child("x", DATA)?;
    if x.attr("type") == Some("cancel") {
        return Some(Vec::new());
    }
    Some(
        x.elements()
            .filter(|f| f.is("field", DATA))
            .filter_map(|f| Some((f.attr("var")?.to_owned(), f.child("value", DATA).map(Element::text).unwrap_or_default())))
            .collect(),
    )
}
