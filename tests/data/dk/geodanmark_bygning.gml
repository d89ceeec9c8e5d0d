<?xml version="1.0" encoding="utf-8" ?>
<ogr:FeatureCollection
     gml:id="aFeatureCollection"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:schemaLocation="http://ogr.maptools.org/ geodanmark_bygning.xsd"
     xmlns:ogr="http://ogr.maptools.org/"
     xmlns:gml="http://www.opengis.net/gml/3.2">
  <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>592000 6140000</gml:lowerCorner><gml:upperCorner>592310 6140055</gml:upperCorner></gml:Envelope></gml:boundedBy>
                                                                                                                                                       
  <ogr:featureMember>
    <ogr:Bygning gml:id="Bygning.0">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>592000 6140000</gml:lowerCorner><gml:upperCorner>592050 6140012</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Polygon srsName="urn:ogc:def:crs:EPSG::25832" gml:id="Bygning.geom.0"><gml:exterior><gml:LinearRing><gml:posList>592050 6140000 592050 6140012 592000 6140012 592000 6140000 592050 6140000</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></ogr:geometryProperty>
      <ogr:id_lokalId>f0000000-0000-4000-8000-000000000001</ogr:id_lokalId>
      <ogr:bygning_id>b0000000-0000-4000-8000-000000000001</ogr:bygning_id>
      <ogr:registreringFra>2026-06-01T00:00:00+02:00</ogr:registreringFra>
    </ogr:Bygning>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:Bygning gml:id="Bygning.1">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>592000 6140040</gml:lowerCorner><gml:upperCorner>592040 6140052</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Polygon srsName="urn:ogc:def:crs:EPSG::25832" gml:id="Bygning.geom.1"><gml:exterior><gml:LinearRing><gml:posList>592040 6140040 592040 6140052 592000 6140052 592000 6140040 592040 6140040</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></ogr:geometryProperty>
      <ogr:id_lokalId>f0000000-0000-4000-8000-000000000002</ogr:id_lokalId>
      <ogr:bygning_id xsi:nil="true"/>
      <ogr:registreringFra>2026-06-01T00:00:00+02:00</ogr:registreringFra>
    </ogr:Bygning>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:Bygning gml:id="Bygning.2">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>592100 6140000</gml:lowerCorner><gml:upperCorner>592112 6140010</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Polygon srsName="urn:ogc:def:crs:EPSG::25832" gml:id="Bygning.geom.2"><gml:exterior><gml:LinearRing><gml:posList>592112 6140000 592112 6140010 592100 6140010 592100 6140000 592112 6140000</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></ogr:geometryProperty>
      <ogr:id_lokalId>f0000000-0000-4000-8000-000000000003</ogr:id_lokalId>
      <ogr:bygning_id xsi:nil="true"/>
      <ogr:registreringFra>2026-06-01T00:00:00+02:00</ogr:registreringFra>
    </ogr:Bygning>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:Bygning gml:id="Bygning.3">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>592100 6140040</gml:lowerCorner><gml:upperCorner>592120 6140050</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Polygon srsName="urn:ogc:def:crs:EPSG::25832" gml:id="Bygning.geom.3"><gml:exterior><gml:LinearRing><gml:posList>592120 6140040 592120 6140050 592100 6140050 592100 6140040 592120 6140040</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></ogr:geometryProperty>
      <ogr:id_lokalId>f0000000-0000-4000-8000-000000000004</ogr:id_lokalId>
      <ogr:bygning_id>b0000000-0000-4000-8000-000000000004</ogr:bygning_id>
      <ogr:registreringFra>2026-06-01T00:00:00+02:00</ogr:registreringFra>
    </ogr:Bygning>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:Bygning gml:id="Bygning.4">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>592200 6140000</gml:lowerCorner><gml:upperCorner>592230 6140020</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Polygon srsName="urn:ogc:def:crs:EPSG::25832" gml:id="Bygning.geom.4"><gml:exterior><gml:LinearRing><gml:posList>592230 6140000 592230 6140020 592200 6140020 592200 6140000 592230 6140000</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></ogr:geometryProperty>
      <ogr:id_lokalId>f0000000-0000-4000-8000-000000000005</ogr:id_lokalId>
      <ogr:bygning_id>b0000000-0000-4000-8000-000000000005</ogr:bygning_id>
      <ogr:registreringFra>2026-06-01T00:00:00+02:00</ogr:registreringFra>
    </ogr:Bygning>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:Bygning gml:id="Bygning.5">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>592200 6140040</gml:lowerCorner><gml:upperCorner>592230 6140055</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Polygon srsName="urn:ogc:def:crs:EPSG::25832" gml:id="Bygning.geom.5"><gml:exterior><gml:LinearRing><gml:posList>592230 6140040 592230 6140055 592200 6140055 592200 6140040 592230 6140040</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></ogr:geometryProperty>
      <ogr:id_lokalId>f0000000-0000-4000-8000-000000000006</ogr:id_lokalId>
      <ogr:bygning_id xsi:nil="true"/>
      <ogr:registreringFra>2026-06-01T00:00:00+02:00</ogr:registreringFra>
    </ogr:Bygning>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:Bygning gml:id="Bygning.6">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>592300 6140000</gml:lowerCorner><gml:upperCorner>592310 6140008</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Polygon srsName="urn:ogc:def:crs:EPSG::25832" gml:id="Bygning.geom.6"><gml:exterior><gml:LinearRing><gml:posList>592310 6140000 592310 6140008 592300 6140008 592300 6140000 592310 6140000</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></ogr:geometryProperty>
      <ogr:id_lokalId>f0000000-0000-4000-8000-000000000007</ogr:id_lokalId>
      <ogr:bygning_id xsi:nil="true"/>
      <ogr:registreringFra>2026-06-01T00:00:00+02:00</ogr:registreringFra>
    </ogr:Bygning>
  </ogr:featureMember>
</ogr:FeatureCollection>
